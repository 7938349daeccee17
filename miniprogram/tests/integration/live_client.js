#!/usr/bin/env node
/**
 * A store owner's phone in a livestream room, played by the mini-program's own code
 * (config.js, utils/session.js, packageLive/utils/live-room.js and realtime.js) under node, with
 * wx.connectSocket over `ws`. tests/test_miniprogram_realtime.py runs it against the real
 * server:
 *
 *   B2BC_ACCESS_TOKEN=<store owner's token> node live_client.js <api base URL> <session id>
 *
 * It joins the session, grabs a packet of every rain it is told about (twice at once, as an
 * impatient thumb would), and prints one JSON line for everything it sees; it leaves after
 * the first rain's result. Exit 0 then, 2 if nothing happened for 30 s.
 */
const { installWx } = require('./wx-node');

installWx();
const [apiBase, sessionText] = process.argv.slice(2);
const token = process.env.B2BC_ACCESS_TOKEN;
if (!apiBase || !sessionText || !token) {
  process.stderr.write(
    'usage: B2BC_ACCESS_TOKEN=... node live_client.js <api base> <session id>\n',
  );
  process.exit(64);
}

const config = require('../../config');
const session = require('../../utils/session');
const { joinRoom } = require('../../packageLive/utils/live-room');

// As a phone would have them after signing in and pointing the app at this server.
config.setApiBase(apiBase);
session.saveSession({ access_token: token, refresh_token: 'not-used-here' });

const print = (event, data) => process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);

let watchdog = null;
function stillAlive() {
  clearTimeout(watchdog);
  watchdog = setTimeout(() => {
    print('timeout', {});
    process.exit(2);
  }, 30000);
}
stillAlive();

const room = joinRoom(Number(sessionText));
room.on('connection', (status) => print('connection', { status }));
room.on('error', (error) => print('error', { error }));
room.on('joined', (state) => {
  stillAlive();
  print('joined', { state });
});
room.on('product', (card) => {
  stillAlive();
  print('product', { card });
});
room.on('rain', async (rain) => {
  stillAlive();
  print('rain', { rain });
  const [first, again] = await Promise.all([room.grab(rain.id), room.grab(rain.id)]);
  print('grab', { ack: first });
  print('grab_again', { ack: again });
  print('mine', { mine: room.state.rain && room.state.rain.mine });
});
room.on('rain_result', (result) => {
  print('rain_result', { result });
  clearTimeout(watchdog);
  room.leave(); // the socket closes; nothing else keeps node running
});

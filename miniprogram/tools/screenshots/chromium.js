/**
 * Screenshots with one headless Chromium over the DevTools protocol (with the `ws` package the
 * tests already use; no browser download, no extra npm package): start it once, then for each
 * HTML file set the viewport, load it, wait for its images and take a PNG. Chromium is
 * $CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const WebSocket = require('ws');

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (process.env.PATH || '').split(path.delimiter)) {
      const candidate = path.join(dir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  throw new Error('no Chromium found: set CHROMIUM to its path');
}

async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-shots-chromium-'));
  const proc = spawn(findChromium(), [
    '--headless', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', '--mute-audio',
    '--no-first-run', '--no-default-browser-check', '--allow-file-access-from-files',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  // however node ends (a page's uncaught error too), the browser goes with it
  const killBrowser = () => {
    if (proc.exitCode === null) proc.kill();
  };
  process.on('exit', killBrowser);
  const browserUrl = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${seen}`)), 30000);
    proc.stderr.on('data', (chunk) => {
      seen += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`Chromium exited (${code}): ${seen}`)));
  });
  const ws = new WebSocket(browserUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  let nextId = 0;
  const waiting = new Map();
  const listeners = [];
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString());
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result);
    } else if (msg.method) {
      listeners.forEach((l) => l(msg));
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    nextId += 1;
    waiting.set(nextId, { resolve, reject });
    ws.send(JSON.stringify({ id: nextId, method, params, sessionId }));
  });
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  await send('Runtime.enable', {}, sessionId);

  const loaded = () => new Promise((resolve) => {
    const l = (msg) => {
      if (msg.method === 'Page.loadEventFired' && msg.sessionId === sessionId) {
        listeners.splice(listeners.indexOf(l), 1);
        resolve();
      }
    };
    listeners.push(l);
  });

  /** PNG of `htmlFile` at width×height (CSS px) × scale; `full` grows the height to the page's. */
  async function shoot(htmlFile, out, { width = 375, height = 812, scale = 2, full = false } = {}) {
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: scale, mobile: false }, sessionId);
    const onLoad = loaded();
    await send('Page.navigate', { url: `file://${htmlFile}` }, sessionId);
    await Promise.race([onLoad, new Promise((r) => setTimeout(r, 10000))]);
    await send('Runtime.evaluate', { expression: 'document.fonts.ready.then(() => 1)', awaitPromise: true }, sessionId);
    let clipHeight = height;
    if (full) {
      const { result } = await send('Runtime.evaluate', { expression: 'window.mpFullHeight ? window.mpFullHeight() : document.documentElement.scrollHeight', returnByValue: true }, sessionId);
      clipHeight = Math.max(height, Math.ceil(result.value));
      await send('Emulation.setDeviceMetricsOverride', { width, height: clipHeight, deviceScaleFactor: scale, mobile: false }, sessionId);
      await send('Runtime.evaluate', { expression: 'window.mpFull && window.mpFull()' }, sessionId);
    }
    const { data } = await send('Page.captureScreenshot', { format: 'png', clip: { x: 0, y: 0, width, height: clipHeight, scale: 1 } }, sessionId);
    fs.writeFileSync(out, Buffer.from(data, 'base64'));
    const text = await send('Runtime.evaluate', { expression: 'document.body.innerText', returnByValue: true }, sessionId);
    return { height: clipHeight, text: text.result.value };
  }

  async function close() {
    try {
      await send('Browser.close');
    } catch (e) {
      // already gone
    }
    ws.close();
    process.removeListener('exit', killBrowser);
    if (proc.exitCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (e) {
      // Chromium's last writes raced us: a temp folder left behind is harmless
    }
  }

  /** The value of a JavaScript expression in the current page (for tests and debugging). */
  async function evaluate(expression) {
    const { result } = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
    return result.value;
  }

  return { shoot, close, eval: evaluate };
}

module.exports = { launch, findChromium };

#!/usr/bin/env node
/**
 * `npm run screenshots [-- <API base URL>] [--out DIR] [--only a,b] [--no-journey]`
 *
 * Renders every page of app.json (pages and subpackages) with miniprogram-simulate and
 * WeChat's template compiler, fed by a real platform, and shoots each in headless Chromium at
 * 375×812 (×2): test-artifacts/miniprogram/<page>[--state].png, <page>--full.png (the whole
 * page), <name>.txt (the visible text), journey-NN-<step>.png (the store owner's journey, see
 * journey.js), index.html (a contact sheet) and manifest.json (for tests/test_miniprogram_screenshots.py).
 * With no API base URL it starts the embedded demo itself (`b2bc run`, temp data, free port).
 */
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { Renderer, pageRoutes, pageName, ROOT } = require('./renderer');
const { specFor, personas } = require('./pages');
const chromium = require('./chromium');
const { runJourney } = require('./journey');
const { escapeHtml } = require('./document');

const REPO = path.resolve(ROOT, '..');
const STATE_NAMES = { live: '正常', empty: '空状态', error: '出错', loading: '加载中', full: '整页' };

function parseArgs(argv) {
  const args = { apiBase: null, out: path.join(REPO, 'test-artifacts', 'miniprogram'), only: null, journey: true, full: true };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--out') args.out = path.resolve(argv[(i += 1)]);
    else if (a === '--only') args.only = argv[(i += 1)].split(',');
    else if (a === '--no-journey') args.journey = false;
    else if (a === '--no-full') args.full = false;
    else if (/^https?:\/\//.test(a)) args.apiBase = a;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function b2bcCommand() {
  if (process.env.B2BC_BIN) return process.env.B2BC_BIN;
  const venv = path.join(REPO, '.venv', 'bin', 'b2bc');
  return fs.existsSync(venv) ? venv : 'b2bc';
}

/** The embedded platform with its demo data, on a free port, in a throwaway data folder. */
async function startDemo(log) {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-shots-demo-'));
  const proc = spawn(b2bcCommand(), ['run'], {
    env: { ...process.env, B2BC_DATA_DIR: dataDir, B2BC_PORT: String(port), B2BC_HOST: '127.0.0.1', PYTHONPATH: REPO },
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killDemo = () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  };
  process.on('exit', killDemo); // also when the run fails
  let output = '';
  const keep = (c) => {
    output = (output + c).slice(-8000); // the tail, for a failure's message
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const { call } = require('./wx');
  const until = Date.now() + 120000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`b2bc run stopped: ${output}`);
    if (Date.now() > until) throw new Error(`b2bc run did not answer: ${output}`);
    try {
      // eslint-disable-next-line no-await-in-loop
      const res = await call(`${base}/healthz`, { timeout: 1000 });
      if (res.statusCode === 200) break;
    } catch (e) {
      // not up yet
    }
    // eslint-disable-next-line no-await-in-loop
    await new Promise((r) => setTimeout(r, 300));
  }
  log(`demo platform at ${base}`);
  return {
    base,
    stop: () => {
      killDemo();
      try {
        fs.rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch (e) {
        // the server's last writes raced us: a temp folder left behind is harmless
      }
    },
  };
}

function contactSheet(shots) {
  const cells = shots.map((s) => `<figure><a href="${s.file}"><img src="${s.file}" loading="lazy"></a><figcaption>${escapeHtml(s.caption)}<br><code>${escapeHtml(s.file)}</code></figcaption></figure>`).join('\n');
  return `<!doctype html><meta charset="utf-8"><title>小程序截图</title><style>
body{font:13px/1.5 -apple-system,'PingFang SC','WenQuanYi Zen Hei',sans-serif;margin:16px;background:#f4f6f9}
main{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;width:200px}img{width:200px;border:1px solid #ddd;background:#fff}
code{color:#888;font-size:11px}</style><h1>小程序截图（${shots.length} 张）</h1><main>${cells}</main>`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const log = (msg) => process.stderr.write(`${msg}\n`);
  const quiet = () => {};
  fs.mkdirSync(path.join(args.out, 'html'), { recursive: true });
  const demo = args.apiBase ? null : await startDemo(log);
  const apiBase = args.apiBase || demo.base;
  const renderer = new Renderer({ apiBase, log: process.env.SHOTS_DEBUG ? log : quiet });
  const browser = await chromium.launch();
  const shots = [];
  const started = Date.now();

  // Chromium shoots one document while node renders the next: the shots queue up here.
  let queue = Promise.resolve();
  const shootLater = (html, name, options) => {
    const next = queue.then(() => browser.shoot(html, path.join(args.out, `${name}.png`), options));
    queue = next.catch(() => {});
    return next;
  };

  /** Write the page's document and queue its shot; `full` adds <name>--full.png. */
  function shoot(opened, name, caption, { full = false, canGoBack = true, toast = null } = {}) {
    const html = path.join(args.out, 'html', `${name}.html`);
    fs.writeFileSync(html, renderer.document(opened, { canGoBack: canGoBack && !opened.root, toast }));
    const shot = { name, file: `${name}.png`, caption, route: opened.route };
    shots.push(shot);
    const taken = [shootLater(html, name).then(({ text }) => {
      shot.text = text;
      fs.writeFileSync(path.join(args.out, `${name}.txt`), `${text}\n`);
    })];
    if (full) {
      const whole = { name: `${name}--full`, file: `${name}--full.png`, caption: `${caption}（整页）`, route: opened.route };
      shots.push(whole);
      taken.push(shootLater(html, whole.name, { full: true }).then(({ text }) => {
        whole.text = text;
        fs.writeFileSync(path.join(args.out, `${whole.name}.txt`), `${text}\n`);
      }));
    }
    return Promise.all(taken).catch((err) => {
      shot.failed = String(err.stack || err);
    });
  }

  let journey = null;
  try {
    if (args.journey && !args.only) {
      try {
        journey = await runJourney(renderer, shoot, personas.owner, log);
      } catch (err) {
        log(`FAILED journey: ${err.stack || err}`);
        journey = { failed: String(err.stack || err) };
      }
    }
    const routes = pageRoutes(renderer.app);
    for (const route of routes) {
      const name = pageName(route);
      if (args.only && !args.only.includes(name)) continue;
      const spec = specFor(name);
      try {
        await renderer.signIn(spec.personaSpec);
        if (spec.before) await spec.before(renderer);
        const query = spec.query ? await spec.query(renderer) : {};
        for (const mode of ['live'].concat(spec.states)) {
          const opened = await renderer.open(route, { query, mode });
          opened.root = Boolean(spec.root);
          const file = mode === 'live' ? name : `${name}--${mode}`;
          shoot(opened, file, `${name} · ${STATE_NAMES[mode]}`, { full: args.full && mode === 'live' });
          await renderer.close(opened);
        }
        log(`shot ${name}`);
      } catch (err) {
        log(`FAILED ${name}: ${err.stack || err}`);
        shots.push({ name, route, failed: String(err.stack || err) });
      }
    }
    await queue;
  } finally {
    await browser.close();
    if (demo) demo.stop();
  }
  const done = shots.filter((s) => !s.failed);
  fs.writeFileSync(path.join(args.out, 'index.html'), contactSheet(done));
  fs.writeFileSync(path.join(args.out, 'manifest.json'), JSON.stringify({
    routes: pageRoutes(renderer.app), shots, journey, seconds: (Date.now() - started) / 1000,
  }, null, 2));
  log(`${done.length} screenshots in ${args.out} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(shots.some((s) => s.failed) || (journey && journey.failed) ? 1 : 0);
}

// A page's stray promise or timer may throw after its shot: end the run (and with it the
// browser and the demo) with a message rather than leave them behind.
process.on('uncaughtException', (err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});

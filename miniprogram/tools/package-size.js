#!/usr/bin/env node
/**
 * The mini-program's code packages as WeChat uploads them: which files go into the main
 * package and into each subpackage of app.json, and how many bytes each weighs.
 *
 *   npm run size            prints a table: main, each subpackage, total
 *
 * WeChat caps the main package and every subpackage at 2 MB and the whole at 20 MB; we keep
 * the main package under 1.5 MB so that what must open at once (display programs, code
 * scanning, the consumer pages) still has room (issue 23). tests/assets/package-size.test.js
 * holds those limits, and checks that no file reaches into a package it may not load.
 *
 * Counted as the developer tools do: every file under the project root except what
 * project.config.json's packOptions.ignore leaves out, and only the file types the tools
 * upload (code, templates, styles, images, fonts, media). The figures are an upper bound:
 * the tools also minify JS and WXSS, and drop files nothing references
 * (`ignoreUploadUnusedFiles`).
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;
const LIMITS = { main: 1.5 * MB, subpackage: 2 * MB, total: 20 * MB };

// What the developer tools put in a code package; anything else (README.md, *.py…) stays out.
const UPLOADED = new Set([
  'js', 'json', 'wxml', 'wxss', 'wxs',
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp',
  'ttf', 'otf', 'woff', 'woff2', 'eot',
  'mp3', 'aac', 'm4a', 'wav', 'ogg', 'silk', 'mp4', 'wasm', 'br', 'cer',
]);
// The project's own settings: read by the tools, not shipped in the package.
const PROJECT_FILES = new Set(['project.config.json', 'project.private.config.json']);

const posix = (p) => p.split(path.sep).join('/');
const readJson = (root, rel) => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));

/** A predicate for packOptions.ignore (types folder, file, suffix, prefix, regexp, glob). */
function ignoreRule({ type, value }) {
  const clean = String(value).replace(/^\.?\//, '').replace(/\/$/, '');
  switch (type) {
    case 'folder':
      return (rel) => rel === clean || rel.startsWith(`${clean}/`);
    case 'file':
      return (rel) => rel === clean;
    case 'suffix':
      return (rel) => rel.endsWith(value);
    case 'prefix':
      return (rel) => path.posix.basename(rel).startsWith(value);
    case 'regexp':
      return (rel) => new RegExp(value).test(rel);
    case 'glob': {
      const re = clean.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*');
      return (rel) => new RegExp(`^${re}$`).test(rel);
    }
    default:
      throw new Error(`packOptions.ignore: unknown type ${type}`);
  }
}

/** Every uploaded file, relative to the root with forward slashes, and its size. */
function uploadedFiles(root = ROOT) {
  const project = readJson(root, 'project.config.json');
  const ignored = ((project.packOptions && project.packOptions.ignore) || []).map(ignoreRule);
  const skip = (rel) => rel.split('/').some((part) => part.startsWith('.')) || ignored.some((rule) => rule(rel));
  const files = [];
  const walk = (dir) => {
    fs.readdirSync(path.join(root, dir), { withFileTypes: true }).forEach((entry) => {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (skip(rel)) return;
      // A symlink (node_modules linked in from another checkout) is not the project's own.
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && !PROJECT_FILES.has(rel) && UPLOADED.has(path.posix.extname(rel).slice(1).toLowerCase())) {
        files.push({ path: rel, bytes: fs.statSync(path.join(root, rel)).size });
      }
    });
  };
  walk('');
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** app.json's subpackages (either spelling WeChat accepts). */
function subpackagesOf(app) {
  return app.subPackages || app.subpackages || [];
}

/** Every page of app.json as its module path ('pages/cart/index', 'packageLive/pages/room/index'). */
function appPages(root = ROOT) {
  const app = readJson(root, 'app.json');
  return app.pages.concat(subpackagesOf(app).flatMap((pkg) => pkg.pages.map((page) => `${pkg.root.replace(/\/$/, '')}/${page}`)));
}

/** Which package a file belongs to: a subpackage's root, or '' for the main package. */
function packageOf(roots, rel) {
  return roots.find((r) => rel.startsWith(`${r}/`)) || '';
}

/** The main package and each subpackage: bytes and files; and the total. */
function packageSizes(root = ROOT) {
  const app = readJson(root, 'app.json');
  const subs = subpackagesOf(app).map((pkg) => ({ root: pkg.root.replace(/\/$/, ''), name: pkg.name || pkg.root, bytes: 0, files: [] }));
  const main = { root: '', name: '主包', bytes: 0, files: [] };
  const roots = subs.map((s) => s.root);
  uploadedFiles(root).forEach((file) => {
    const where = packageOf(roots, file.path);
    const pkg = where ? subs.find((s) => s.root === where) : main;
    pkg.bytes += file.bytes;
    pkg.files.push(file.path);
  });
  const total = main.bytes + subs.reduce((sum, s) => sum + s.bytes, 0);
  return { main, subpackages: subs, total };
}

/** What a file loads: relative require()s of a .js, usingComponents of a .json (as .js). */
function references(root, rel) {
  const src = fs.readFileSync(path.join(root, rel), 'utf8');
  const dir = path.posix.dirname(rel);
  if (rel.endsWith('.js')) {
    const found = [];
    const re = /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
    let m;
    while ((m = re.exec(src))) {
      if (m[1].startsWith('.') || m[1].startsWith('/')) {
        const target = m[1].startsWith('/') ? m[1].slice(1) : path.posix.normalize(path.posix.join(dir, m[1]));
        found.push({ spec: m[1], target: target.endsWith('.js') ? target : `${target}.js` });
      }
    }
    return found;
  }
  if (rel.endsWith('.json')) {
    let json;
    try {
      json = JSON.parse(src);
    } catch (e) {
      return [];
    }
    if (!json || typeof json.usingComponents !== 'object') return [];
    return Object.values(json.usingComponents)
      .filter((p) => !p.startsWith('plugin://'))
      .map((p) => {
        const base = p.startsWith('/') ? p.slice(1) : path.posix.normalize(path.posix.join(dir, p));
        return { spec: p, target: `${base}.js` };
      });
  }
  return [];
}

/**
 * References WeChat would refuse: a file that does not exist, the main package reaching into
 * a subpackage, or a subpackage into another (each loads only itself and the main package).
 */
function referenceProblems(root = ROOT) {
  const { subpackages } = packageSizes(root);
  const roots = subpackages.map((s) => s.root);
  const problems = [];
  uploadedFiles(root).forEach(({ path: rel }) => {
    const from = packageOf(roots, rel);
    references(root, rel).forEach(({ spec, target }) => {
      const to = packageOf(roots, target);
      if (!fs.existsSync(path.join(root, target))) problems.push(`${rel}: ${spec} does not exist`);
      else if (to && to !== from) problems.push(`${rel}: ${spec} is in ${to}, which ${from || 'the main package'} may not load`);
    });
  });
  return problems;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/** The table `npm run size` prints. */
function sizeTable(root = ROOT) {
  const { main, subpackages, total } = packageSizes(root);
  const rows = [['package', 'files', 'size', 'limit']];
  rows.push(['main', String(main.files.length), kb(main.bytes), kb(LIMITS.main)]);
  subpackages.forEach((s) => rows.push([s.root, String(s.files.length), kb(s.bytes), kb(LIMITS.subpackage)]));
  rows.push(['total', String(main.files.length + subpackages.reduce((n, s) => n + s.files.length, 0)), kb(total), kb(LIMITS.total)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

module.exports = { ROOT, LIMITS, uploadedFiles, appPages, packageSizes, referenceProblems, sizeTable };

if (require.main === module) {
  process.stdout.write(`${sizeTable()}\n`);
  const problems = referenceProblems();
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exitCode = 1;
  }
}

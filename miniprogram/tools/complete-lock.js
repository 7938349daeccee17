#!/usr/bin/env node
/**
 * Completes package-lock.json with the platform packages the registry we reach does not
 * serve, so that `npm ci` accepts the lock.
 *
 * Why: jest 30 resolves modules with unrs-resolver, a napi-rs package whose native binary
 * comes as one optional package per platform (`@unrs/resolver-binding-darwin-arm64`, ...).
 * Our npm registry serves only the Linux ones, so `npm install` writes a lock without the
 * others, and `npm ci` then refuses it ("Missing: ... from lock file"). Each missing package
 * is added with its os/cpu/libc, read from its napi-rs name: npm ci skips it on our Linux
 * machines without downloading anything, and fetches it by name on another platform.
 *
 * Run after changing dependencies:  npm run lock
 */
const fs = require('fs');
const path = require('path');

const LOCK = path.join(__dirname, '..', 'package-lock.json');
const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openharmony',
  'win32',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const LIBC = { gnu: 'glibc', gnueabihf: 'glibc', musl: 'musl', musleabihf: 'musl' };

/** `@unrs/resolver-binding-linux-arm-gnueabihf` → {os: linux, cpu: arm, libc: glibc}. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const at = parts.findIndex((part) => OS.indexOf(part) !== -1);
  if (at === -1 || at + 1 >= parts.length) return null;
  return { os: parts[at], cpu: parts[at + 1], libc: LIBC[parts[at + 2]] || null };
}

const lock = JSON.parse(fs.readFileSync(LOCK, 'utf8'));
const packages = lock.packages;
const added = [];
Object.keys(packages).forEach((where) => {
  const optional = packages[where].optionalDependencies || {};
  Object.keys(optional).forEach((name) => {
    const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
    if (packages[`node_modules/${name}`] || packages[nested]) return;
    const platform = platformOf(name);
    if (!platform) throw new Error(`${name} is missing from the lock and is no platform package`);
    const entry = { version: optional[name], cpu: [platform.cpu], dev: packages[where].dev };
    if (platform.libc) entry.libc = [platform.libc];
    Object.assign(entry, { optional: true, os: [platform.os] });
    if (!entry.dev) delete entry.dev;
    packages[`node_modules/${name}`] = entry;
    added.push(name);
  });
});

// npm keeps the packages sorted (the root, "", first): so do we, for small diffs.
lock.packages = {};
Object.keys(packages)
  .sort()
  .forEach((key) => {
    lock.packages[key] = packages[key];
  });
fs.writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(added.length ? `added to the lock: ${added.join(', ')}\n` : 'lock complete\n');

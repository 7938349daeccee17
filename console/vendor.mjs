// Copies the console's libraries from node_modules (installed by `npm ci` from
// package-lock.json) into public/vendor, where the platform serves them: no CDN, no bundler.
// Run by `make install` (and `make console`).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const files = {
  "preact.js": "preact/dist/preact.module.js",
  "preact-hooks.js": "preact/hooks/dist/hooks.module.js",
  "htm.js": "htm/dist/htm.module.js",
  "chart.umd.js": "chart.js/dist/chart.umd.min.js",
  "socket.io.js": "socket.io-client/dist/socket.io.esm.min.js",
};
const target = join(here, "public", "vendor");
mkdirSync(target, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(here, "node_modules", source), join(target, name));
}
console.log(`console: ${Object.keys(files).length} libraries copied to ${target}`);

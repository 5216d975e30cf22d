'use strict';
// The native half of `npm ci` in a git checkout (package.json `prepare`, after build:ts). It never
// fails the set-up: without a compiler, or when the build fails, it warns and exits 0, and
// nodegrad runs on its TypeScript backend. It is not an install script: an installed package
// loads its prebuilt binary (prebuilds/) or falls back to TS at run time, and building from
// source there is the explicit `npm run build:native` (README, "Building from source").
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function hasCompiler() {
  const cxx = process.env.CXX || 'c++';
  const r = spawnSync(cxx, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function nodeGypCommand() {
  // npm tells its scripts where its bundled node-gyp lives; prefer the pinned devDependency,
  // since node-gyp 13 does not run on Node 20.
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const fromNpm = process.env.npm_config_node_gyp;
    return fromNpm && fs.existsSync(fromNpm) ? fromNpm : null;
  }
}

function warn(msg) {
  process.stderr.write(`nodegrad: ${msg}\n`);
  process.stderr.write('nodegrad: the pure-TypeScript backend will be used (same results, slower).\n');
}

// `npx nodegrad` in a checkout installs the checkout into npx's cache as a link, which runs
// `prepare` again: skip the rebuild (about a minute on 2 busy cores) when nothing changed.
function upToDate() {
  const addon = path.join(root, 'build', 'Release', 'nodegrad.node');
  if (!fs.existsSync(addon)) return false;
  const built = fs.statSync(addon).mtimeMs;
  const sources = [
    'binding.gyp',
    ...fs.readdirSync(path.join(root, 'native'), { recursive: true }).map((f) => path.join('native', f)),
  ];
  return sources.every((f) => fs.statSync(path.join(root, f)).mtimeMs <= built);
}

function main() {
  if (upToDate()) return;
  if (!hasCompiler()) {
    warn('no C++ compiler was found, so the native addon was not built.');
    return;
  }
  const gyp = nodeGypCommand();
  if (gyp === null) {
    warn('node-gyp was not found, so the native addon was not built.');
    return;
  }
  const r = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    warn(`building the native addon failed (node-gyp exit code ${r.status}).`);
    return;
  }
  try {
    require('node-gyp-build')(root);
  } catch (err) {
    warn(`the native addon was built but does not load: ${err.message}`);
  }
}

try {
  main();
} catch (err) {
  warn(`building the native addon failed: ${err?.message}`);
}
process.exit(0);

'use strict';
// Install step for nodegrad. It never fails the install: when no prebuilt binary loads and the
// addon cannot be compiled here, it warns and exits 0, and nodegrad runs on its TypeScript
// backend instead.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function tryLoad() {
  try {
    require('node-gyp-build')(root);
    return null;
  } catch (err) {
    return err;
  }
}

function hasCompiler() {
  const cxx = process.env.CXX || 'c++';
  const r = spawnSync(cxx, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function nodeGypCommand() {
  // npm tells its scripts where its bundled node-gyp lives; fall back to a local one.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

function warn(msg) {
  process.stderr.write(`nodegrad: ${msg}\n`);
  process.stderr.write('nodegrad: the pure-TypeScript backend will be used (same results, slower).\n');
}

function main() {
  const hasPrebuilds = fs.existsSync(path.join(root, 'prebuilds'));
  const forceSource = process.env.npm_config_build_from_source === 'true';
  if (hasPrebuilds && !forceSource && tryLoad() === null) return;

  if (!hasCompiler()) {
    warn('no prebuilt binary loads on this platform and no C++ compiler was found, so the native addon was not built.');
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
  const err = tryLoad();
  if (err !== null) warn(`the native addon was built but does not load: ${err.message}`);
}

try {
  main();
} catch (err) {
  warn(`install step failed: ${err?.message}`);
}
process.exit(0);

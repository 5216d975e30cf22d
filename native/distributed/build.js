'use strict';
// `npm run build:distributed`: builds the optional Gloo module (native/distributed/binding.gyp)
// when Gloo's headers are there. With --optional (used by `prepare`), a missing Gloo or a failed
// build only warns: the core package never depends on this module.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const optional = process.argv.includes('--optional');
const here = __dirname;
// The compiler's default include paths, where distribution packages and `make install` put Gloo.
const include = ['/usr/include', '/usr/local/include'].find((d) => fs.existsSync(path.join(d, 'gloo', 'allreduce.h')));

function fail(msg) {
  console.error(`nodegrad: ${msg}`);
  process.exit(optional ? 0 : 1);
}

if (include === undefined)
  fail(
    "Gloo's headers (gloo/allreduce.h) are not in /usr/include or /usr/local/include, so the distributed " +
      'module is not built (apt-get install libgloo-dev, then npm run build:distributed)',
  );

// The pinned node-gyp devDependency in a checkout; npm's bundled one in an installed package.
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = process.env.npm_config_node_gyp;
}
if (!gyp || !fs.existsSync(gyp)) fail('node-gyp was not found; run this through npm (npm run build:distributed)');

const t0 = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', here], { stdio: optional ? 'pipe' : 'inherit', encoding: 'utf8' });
if (r.status !== 0) {
  if (optional) process.stderr.write(r.stderr ?? '');
  fail('building the distributed module failed (see above); the core package is unaffected');
}
console.error(`nodegrad: built the distributed module (Gloo) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

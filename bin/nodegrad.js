#!/usr/bin/env node
'use strict';
let main;
try {
  ({ main } = require('../dist/cli/main.js'));
} catch (err) {
  // e.g. NODEGRAD_BACKEND=bogus, or native forced but unavailable: one line, not a stack
  if (process.env.NODEGRAD_DEBUG === '1') throw err;
  process.stderr.write(`${err && err.message ? err.message : String(err)}\n`);
  process.exit(err instanceof Error && /NODEGRAD_BACKEND/.test(err.message) ? 2 : 1);
}
process.exitCode = main(process.argv.slice(2));

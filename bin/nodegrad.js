#!/usr/bin/env node
'use strict';
// A reader that stops early (`nodegrad predict ... | head -1`) closes the pipe: stop quietly, as
// Unix tools do, instead of dying on an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = require('../dist/cli/main.js');
process.exitCode = main(process.argv.slice(2));

#!/usr/bin/env node
'use strict';
const { main } = require('../dist/cli/main.js');
process.exitCode = main(process.argv.slice(2));

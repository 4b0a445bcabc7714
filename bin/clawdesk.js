#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm install`).
const path = require('node:path');
const entry = path.join(__dirname, '..', 'dist', 'gateway', 'cli', 'main.js');
let cli;
try {
  cli = require(entry);
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(entry)) {
    process.stderr.write('clawdesk: the CLI is not built yet. Run `npm run build` in the clawdesk directory.\n');
    process.exit(70);
  }
  throw error;
}
cli.runCli(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`clawdesk: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

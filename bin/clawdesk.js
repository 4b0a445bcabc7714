#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm install`).
// Long-running commands: keep V8's young generation at its initial size. It otherwise grows during start-up and
// is never returned, ~6 MiB of idle memory for nothing (measured; throughput unchanged: see npm run bench).
const longRunning =
  process.argv[2] === 'gateway' ||
  process.argv[2] === 'node' ||
  (process.argv[2] === 'openclaw' && process.argv[3] === 'start');
if (longRunning) {
  require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
}
// The bundled CLI loads fastest; the plain tsc output is the fallback for a partial build.
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const entry = [path.join(dist, 'clawdesk-cli.cjs'), path.join(dist, 'gateway', 'cli', 'main.js')].find((file) =>
  fs.existsSync(file),
);
if (!entry) {
  process.stderr.write('clawdesk: the CLI is not built yet. Run `npm run build` in the clawdesk directory.\n');
  process.exit(70);
}
const cli = require(entry);
cli.runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`clawdesk: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

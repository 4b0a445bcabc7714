// Builds what tsc cannot: the sandboxed preload (one CJS file; a sandboxed preload may only require 'electron')
// and the renderer (one browser bundle plus its static pages). Type-checking of both lives in test/build.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');

await build({
  entryPoints: [path.join(root, 'preload', 'preload.ts')],
  outfile: path.join(out, 'preload', 'preload.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'es2022',
  external: ['electron'],
  sourcemap: false,
  logLevel: 'warning',
});

await build({
  entryPoints: [path.join(root, 'renderer', 'app.ts')],
  outfile: path.join(out, 'renderer', 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: false,
  logLevel: 'warning',
});

mkdirSync(path.join(out, 'renderer'), { recursive: true });
for (const file of readdirSync(path.join(root, 'renderer'))) {
  if (file.endsWith('.html') || file.endsWith('.css')) {
    copyFileSync(path.join(root, 'renderer', file), path.join(out, 'renderer', file));
  }
}

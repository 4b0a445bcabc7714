// Writes the installers' icons from the drawing code in main/icon-art.ts (run `npm run build` first):
//   build/icons/icon.png (512, macOS dmg), build/icons/icon.ico (Windows), build/icons/linux/NxN.png (Linux).
// The outputs are committed; rerun this only when the artwork changes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { drawAppIcon, encodeIco } = require(path.join(here, '..', 'dist', 'main', 'icon-art.js'));

const iconsDir = path.join(here, 'icons');
mkdirSync(path.join(iconsDir, 'linux'), { recursive: true });

writeFileSync(path.join(iconsDir, 'icon.png'), drawAppIcon(512).toPng());
writeFileSync(
  path.join(iconsDir, 'icon.ico'),
  encodeIco([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, png: drawAppIcon(size).toPng() }))),
);
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  writeFileSync(path.join(iconsDir, 'linux', `${size}x${size}.png`), drawAppIcon(size).toPng());
}
console.log(`icons written to ${iconsDir}`);

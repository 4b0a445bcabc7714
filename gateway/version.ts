import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Clawdesk's version, from the package.json above this file (works from source and from dist/). */
function findVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'clawdesk') return String(pkg.version);
    } catch {
      // keep walking up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

export const CLAWDESK_VERSION = findVersion();

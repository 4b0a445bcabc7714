// Empties dist/ before a build, so a module deleted or renamed in the sources cannot linger as stale output that
// the built CLI, the app or the interop suite would still load.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });

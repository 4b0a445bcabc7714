import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Async so the worker stays responsive to vitest while tsc runs. Returns tsc's output, '' when clean. */
async function typecheck(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', project, '--noEmit'], { cwd: root, encoding: 'utf8' });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

// tsc over main/** pulls in the gateway sources too: slow on a busy 2-core machine, hence the long timeout.
describe('UI code that tsc -p tsconfig.json does not cover', { timeout: 180_000 }, () => {
  it('the renderer type-checks against the DOM lib and the IPC contract', async () => {
    expect(await typecheck('renderer/tsconfig.json')).toBe('');
  });
  it('the preload type-checks against electron.d.ts and the IPC contract', async () => {
    expect(await typecheck('preload/tsconfig.json')).toBe('');
  });
  it('main-process tests and their fakes type-check against electron.d.ts', async () => {
    expect(await typecheck('test/main/tsconfig.json')).toBe('');
  });
  it('the renderer tests and the preload stand-in type-check against the same contract', async () => {
    expect(await typecheck('test/renderer/tsconfig.json')).toBe('');
  });
});

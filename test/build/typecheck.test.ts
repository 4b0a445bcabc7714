import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function typecheck(project: string): string {
  try {
    execFileSync(process.execPath, [tsc, '-p', project, '--noEmit'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

describe('UI code that tsc -p tsconfig.json does not cover', () => {
  it('the renderer type-checks against the DOM lib and the IPC contract', () => {
    expect(typecheck('renderer/tsconfig.json')).toBe('');
  });
  it('the preload type-checks against electron.d.ts and the IPC contract', () => {
    expect(typecheck('preload/tsconfig.json')).toBe('');
  });
  it('main-process tests and their fakes type-check against electron.d.ts', () => {
    expect(typecheck('test/main/tsconfig.json')).toBe('');
  });
  it('the renderer tests and the preload stand-in type-check against the same contract', () => {
    expect(typecheck('test/renderer/tsconfig.json')).toBe('');
  });
});

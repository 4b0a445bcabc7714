import path from 'node:path';
import type { OpenclawInstall } from '../../gateway/openclaw/install';
import type { InstallProgress } from '../../gateway/openclaw/installer';
import type { OpenclawInstallServiceOptions } from '../../main/openclaw-install';

/**
 * A stand-in for the npm installer (proven with real npm in test/openclaw/installer.test.ts) that the test moves
 * step by step: each run waits until the test finishes or fails it, and a cancel ends it as the real one does.
 */

export interface FakeInstallRun {
  version: string;
  signal: AbortSignal;
  onProgress(progress: InstallProgress): void;
  /** Ends the run with an install of `version` in `root`. */
  done(): void;
  fail(error: Error & { fix?: string }): void;
}

export function fakeOpenclawInstall(version: string, root: string): OpenclawInstall {
  return {
    root,
    entry: path.join(root, 'node_modules', 'openclaw', 'openclaw.mjs'),
    packageDir: path.join(root, 'node_modules', 'openclaw'),
    openclawVersion: version,
    nodeRange: '>=26.1.0',
    nodeBin: '/usr/bin/node',
    nodeVersion: 'v26.10.0',
    source: 'clawdesk-data-dir',
  };
}

export function controllableInstaller(
  root: string,
  hooks: { started(run: FakeInstallRun): void; installed(install: OpenclawInstall): void },
): NonNullable<OpenclawInstallServiceOptions['install']> {
  return ({ version, signal, onProgress }) =>
    new Promise((resolve, reject) => {
      hooks.started({
        version,
        signal,
        onProgress,
        done: () => {
          const install = fakeOpenclawInstall(version, root);
          hooks.installed(install);
          resolve(install);
        },
        fail: reject,
      });
      // As the real installer: a cancel ends it with the `cancelled` error and nothing changed.
      signal.addEventListener('abort', () =>
        reject(
          Object.assign(new Error('the OpenClaw install was cancelled'), {
            code: 'cancelled',
            fix: 'Nothing changed.',
          }),
        ),
      );
    });
}

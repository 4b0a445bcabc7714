import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A second, real file system for the cross-volume migration tests: a tmpfs mounted on a fresh temp dir (rename(2)
 * between it and /tmp fails with EXDEV, hard links too). Needs root (the tests run as root here and in .ci/run);
 * without it this throws and names the reason rather than pretending.
 */
export interface ScratchVolume {
  dir: string;
  unmount: () => void;
}

export function mountScratchVolume(sizeMiB = 512): ScratchVolume {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-vol-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    throw new Error(`cannot mount a tmpfs for the cross-volume tests (needs root): ${(error as Error).message}`);
  }
  if (statSync(dir).dev === statSync(os.tmpdir()).dev) throw new Error(`${dir} is not a separate file system`);
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}

import { execFileSync } from 'node:child_process';

/**
 * The second local OS account the hardening tests use (the same one as test/hardening/same-user-pairing.test.ts):
 * created on first use when the tests run as root. Returns undefined when this process cannot switch users or
 * hand files to another account (not root, or not Linux); callers then fall back to a root-owned path.
 */
export const OTHER_USER = 'clawdesk-other';

export interface SecondUser {
  name: string;
  uid: number;
  gid: number;
}

export function secondUser(): SecondUser | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('id', ['-u', OTHER_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', OTHER_USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', OTHER_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', OTHER_USER]).toString().trim());
  if (!uid) throw new Error(`${OTHER_USER} has uid ${uid}: not a second user`);
  return { name: OTHER_USER, uid, gid };
}

/** `chown -R` to the second user (root only). */
export function giveTo(user: SecondUser, ...paths: string[]): void {
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, ...paths]);
}

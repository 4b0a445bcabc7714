import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';

/** The second local account the multi-user tests run clients as (created when missing; needs root on Linux). */
export const OTHER_USER = 'clawdesk-other';

export const canSwitchUser = process.platform === 'linux' && process.getuid?.() === 0;

export function ensureOtherUser(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', OTHER_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', OTHER_USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', OTHER_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', OTHER_USER]).toString().trim());
  return { uid, gid };
}

/** `setpriv` argv that runs `command args…` as the other user (no supplementary groups). */
export function asOtherUser(user: { uid: number; gid: number }, command: string, args: string[]): [string, string[]] {
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', command, ...args]];
}

/** A long-running child as the other user: resolves with the child and its first JSON line. Close stdin to end it. */
export function spawnAsOtherUser(
  user: { uid: number; gid: number },
  command: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ child: ChildProcessWithoutNullStreams; first: any }> {
  const [cmd, argv] = asOtherUser(user, command, args);
  const child = spawn(cmd, argv, {
    env: { PATH: process.env.PATH, HOME: '/tmp' },
    cwd: os.tmpdir(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child printed no JSON within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('{') && stdout.includes('\n'));
      if (!line) return;
      clearTimeout(timer);
      resolve({ child, first: JSON.parse(line) });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before printing JSON; stderr: ${stderr}`));
    });
  });
}

import { expect } from 'vitest';
import type { CliIo } from '../../gateway/cli/cli-io';

export type CapturedIo = CliIo & { out: string; err: string; stop: () => void };

/** In-process CLI io: captured output, the given env (no keychain: tests pass --allow-plaintext-keys). */
export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  let stop!: (s: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((r) => (stop = r));
  const io: CapturedIo = {
    out: '',
    err: '',
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    waitForStopSignal: () => stopped,
    stop: () => stop('SIGTERM'),
  };
  return io;
}

/** Polls `check` until it holds; generous by default (the machine is shared). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asserts a finished process exited 0, with its output's tail as the message when it did not. */
export function expectExitZero(result: { code: number | null; stdout: string; stderr: string }, what: string): void {
  expect(
    result.code,
    `${what}: exit ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-3000)}`,
  ).toBe(0);
}

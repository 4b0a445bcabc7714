import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { TextDecoder } from 'node:util';
import { isDangerousEnvKey } from './command-analysis';

/**
 * Runs one argv without a shell: cwd, filtered environment, a timeout that kills the whole process tree
 * (process group on POSIX, `taskkill /T /F` on Windows), and output capped at 200,000 characters. Every run
 * ends: without an explicit timeout the default applies, output past the cap stops and kills the producer,
 * and an AbortSignal (explicit, or the ambient one of `withRunSignal`) kills the tree at once.
 */

export const MAX_OUTPUT_CHARS = 200_000;
/**
 * The timeout of a run that names none (`timeoutMs` absent, null or 0): 10 minutes. A caller may ask for more
 * explicitly (system.run allows up to 24 h); the node also caps every run at its invoke's own timeout.
 */
export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000;
export const TRUNCATION_MARKER = '\n... (truncated)';
export const ENV_OVERRIDE_REJECTED = 'SYSTEM_RUN_DENIED: environment override rejected';

/** Keys a shell carrier may receive from an override (docs/exec-policy.md § Running (`system-run.ts`)). */
function shellSafeEnvKey(key: string): boolean {
  return ['TERM', 'LANG', 'COLORTERM', 'NO_COLOR', 'FORCE_COLOR'].includes(key) || /^LC_[A-Z_]+$/.test(key);
}

export type EnvCheck = { ok: true; env: Record<string, string> } | { ok: false; message: string; key: string };

/**
 * Merges overrides onto the base environment, refusing PATH, loader/interpreter hooks and malformed names.
 * For a shell carrier only terminal/locale keys pass.
 */
export function applyEnvOverrides(
  base: Record<string, string | undefined>,
  overrides: Record<string, unknown> | undefined,
  opts: { platform: NodeJS.Platform; shellCarrier: boolean },
): EnvCheck {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (typeof v === 'string') env[k] = v;
  for (const [key, value] of Object.entries(overrides ?? {})) {
    const bad = (why: string): EnvCheck => ({ ok: false, key, message: `${ENV_OVERRIDE_REJECTED} (${key}: ${why})` });
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) return bad('invalid name');
    if (typeof value !== 'string') return bad('value must be a string');
    if (value.includes('\u0000')) return bad('value contains NUL');
    if (isDangerousEnvKey(key, opts.platform)) return bad('not overridable');
    if (opts.shellCarrier && !shellSafeEnvKey(key)) return bad('not allowed for shell commands');
    if (opts.platform === 'win32') {
      for (const existing of Object.keys(env)) if (existing.toUpperCase() === key.toUpperCase()) delete env[existing];
    }
    env[key] = value;
  }
  return { ok: true, env };
}

export interface RunProcessOptions {
  /** argv[0] is the file executed (a real path); the program sees `argv0` as its name when given. */
  argv: readonly string[];
  argv0?: string;
  cwd?: string;
  env: Record<string, string>;
  /** Kills the tree after this long; absent, null, 0 or negative → `DEFAULT_RUN_TIMEOUT_MS`. */
  timeoutMs?: number | null;
  maxOutputChars?: number;
  /** Aborting kills the tree at once (the requester left, the invoke was cancelled). Default: `withRunSignal`'s. */
  signal?: AbortSignal;
  platform?: NodeJS.Platform;
  /** Decodes raw output bytes (Windows console code page); defaults to UTF-8. */
  decode?: (bytes: Buffer) => string;
  onStarted?: (pid: number | undefined) => void;
  /**
   * After the direct child exits, how long a background grandchild may keep the output pipes open before the
   * group is killed. Keeps a forgotten `cmd &` from holding the run open forever.
   */
  exitGraceMs?: number;
}

export interface RunProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  success: boolean;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** Why Clawdesk killed the tree, if it did. */
  stoppedBy: 'timeout' | 'output-limit' | 'cancelled' | null;
  /** Spawn failure (missing executable, bad cwd...; nothing ran), or why the run was stopped. */
  error: string | null;
}

const ambientSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` with `signal` as the default cancel signal of every `runProcess` it starts (through any number of
 * awaits), so a caller that does not construct the run options itself (the node host around `SystemRunner.run`)
 * can still cancel exactly its own runs.
 */
export function withRunSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return ambientSignal.run(signal, fn);
}

/** The timeout a run gets: the caller's when it names a positive one, else the default. */
export function effectiveRunTimeoutMs(timeoutMs: number | null | undefined): number {
  return typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0
    ? timeoutMs
    : DEFAULT_RUN_TIMEOUT_MS;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' && reason ? reason : 'cancelled';
}

/** Kills the process and everything it started. */
export function killProcessTree(pid: number, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') {
    // By full path: the gateway's own PATH may lack System32. When taskkill cannot run or refuses (Wine's rejects
    // /T; a stripped-down image may not have it), the direct child is still terminated, so the run always ends.
    const systemRoot = process.env.SystemRoot ?? process.env.windir ?? 'C:\\Windows';
    const taskkill = spawnSync(`${systemRoot}\\System32\\taskkill.exe`, ['/pid', String(pid), '/T', '/F'], {
      stdio: 'ignore',
      windowsHide: true,
    });
    if (taskkill.error || taskkill.status !== 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function runProcess(opts: RunProcessOptions): Promise<RunProcessResult> {
  const platform = opts.platform ?? process.platform;
  const cap = opts.maxOutputChars ?? MAX_OUTPUT_CHARS;
  const decode = opts.decode ?? ((b: Buffer) => b.toString('utf8'));
  const timeoutMs = effectiveRunTimeoutMs(opts.timeoutMs);
  const signal = opts.signal ?? ambientSignal.getStore();
  return new Promise((resolve) => {
    const stdoutChunks: Buffer[] = [];
    const stderrChunks: Buffer[] = [];
    let bytes = 0;
    let overflow = false;
    let timedOut = false;
    let stoppedBy: RunProcessResult['stoppedBy'] = null;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;

    if (signal?.aborted) {
      resolve(failed(`command not started: ${abortReason(signal)}`, 'cancelled'));
      return;
    }

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(opts.argv[0], opts.argv.slice(1), {
        ...(opts.argv0 !== undefined ? { argv0: opts.argv0 } : {}),
        cwd: opts.cwd,
        env: opts.env,
        shell: false,
        // Own process group, so a timeout can kill grandchildren too.
        detached: platform !== 'win32',
        windowsHide: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve(failed((error as Error).message));
      return;
    }

    const finish = (result: RunProcessResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    /** The first reason wins; the whole tree goes (grandchildren keep the pipes open otherwise). */
    const stop = (why: NonNullable<RunProcessResult['stoppedBy']>) => {
      if (stoppedBy) return;
      stoppedBy = why;
      if (why === 'timeout') timedOut = true;
      if (child.pid) killProcessTree(child.pid, platform);
    };

    // Bytes are a safe upper bound for characters; collect a little beyond the cap, decode, then cut exactly.
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (overflow) return;
      const room = cap * 4 - bytes;
      if (chunk.length > room) {
        into.push(chunk.subarray(0, Math.max(0, room)));
        bytes += Math.max(0, room);
        overflow = true;
        // Past the cap nothing more is kept: stop the producer instead of draining it forever (`yes`).
        stop('output-limit');
        return;
      }
      into.push(chunk);
      bytes += chunk.length;
    };
    child.stdout?.on('data', collect(stdoutChunks));
    child.stderr?.on('data', collect(stderrChunks));

    child.once('error', (error: NodeJS.ErrnoException) => {
      finish(failed(describeSpawnError(error, opts)));
    });
    child.once('spawn', () => {
      opts.onStarted?.(child.pid);
      timer = setTimeout(() => stop('timeout'), timeoutMs);
      if (signal) {
        onAbort = () => stop('cancelled');
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    child.once('exit', () => {
      const grace = setTimeout(() => {
        if (child.pid) killProcessTree(child.pid, platform);
      }, opts.exitGraceMs ?? 2_000);
      grace.unref();
      child.once('close', () => clearTimeout(grace));
    });
    child.once('close', (code, exitSignal) => {
      // A grandchild may outlive its parent in the group; it goes too.
      if (child.pid && platform !== 'win32') {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already empty
        }
      }
      let stdout = decode(Buffer.concat(stdoutChunks));
      let stderr = decode(Buffer.concat(stderrChunks));
      let truncated = overflow;
      if (stdout.length + stderr.length > cap) {
        truncated = true;
        if (stdout.length >= cap) {
          stdout = stdout.slice(0, cap);
          stderr = '';
        } else stderr = stderr.slice(0, cap - stdout.length);
      }
      if (truncated) {
        if (stderr) stderr += TRUNCATION_MARKER;
        else stdout += TRUNCATION_MARKER;
      }
      const why: Record<NonNullable<RunProcessResult['stoppedBy']>, string> = {
        timeout: `command timed out after ${timeoutMs} ms; its process tree was killed`,
        'output-limit': `output limit reached (${cap} characters); the command was stopped and its process tree killed`,
        cancelled: `command cancelled (${signal ? abortReason(signal) : 'cancelled'}); its process tree was killed`,
      };
      finish({
        exitCode: code,
        signal: exitSignal,
        timedOut,
        success: stoppedBy === null && code === 0,
        stdout,
        stderr,
        truncated,
        stoppedBy,
        error: stoppedBy ? why[stoppedBy] : null,
      });
    });
  });
}

function failed(message: string, stoppedBy: RunProcessResult['stoppedBy'] = null): RunProcessResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    success: false,
    stdout: '',
    stderr: '',
    truncated: false,
    stoppedBy,
    error: message,
  };
}

function describeSpawnError(error: NodeJS.ErrnoException, opts: RunProcessOptions): string {
  if (error.code === 'ENOENT') {
    return opts.cwd
      ? `spawn failed: ${opts.argv[0]} or working directory ${opts.cwd} not found`
      : `spawn failed: ${opts.argv[0]} not found`;
  }
  if (error.code === 'EACCES') return `spawn failed: permission denied for ${opts.argv[0]}`;
  return `spawn failed: ${error.message}`;
}

/** Windows console code pages → WHATWG encoding labels (the ones TextDecoder knows). */
const CODE_PAGE_LABELS: Record<number, string> = {
  65001: 'utf-8',
  437: 'windows-1252', // closest available; 437 box-drawing glyphs degrade, letters survive
  850: 'windows-1252',
  852: 'windows-1250',
  866: 'ibm866',
  874: 'windows-874',
  932: 'shift_jis',
  936: 'gbk',
  949: 'euc-kr',
  950: 'big5',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  20866: 'koi8-r',
  28591: 'iso-8859-1',
};

/** The number in `chcp` output ("Active code page: 65001", "Página de códigos activa: 850"). */
export function parseChcpOutput(text: string): number | null {
  const match = /:\s*(\d+)/.exec(text) ?? /(\d{3,5})/.exec(text);
  return match ? Number(match[1]) : null;
}

export function decoderForCodePage(codePage: number | null): (bytes: Buffer) => string {
  const label = (codePage && CODE_PAGE_LABELS[codePage]) || 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return (bytes) => decoder.decode(bytes);
}

let cachedCodePage: number | null | undefined;
/** The console code page on Windows (asked once), null elsewhere. */
export function consoleCodePage(platform: NodeJS.Platform = process.platform): number | null {
  if (platform !== 'win32') return null;
  if (cachedCodePage !== undefined) return cachedCodePage;
  const out = spawnSync('cmd.exe', ['/d', '/c', 'chcp'], { encoding: 'latin1', windowsHide: true });
  cachedCodePage = out.status === 0 ? parseChcpOutput(out.stdout) : null;
  return cachedCodePage;
}

import { spawn } from 'node:child_process';
import { isLoopbackHostName } from '../server/locality';
import type { OpenclawInstall } from './install';

/**
 * The link that opens OpenClaw's Control UI signed in. OpenClaw's own `dashboard --json` issues it: a single-use,
 * short-lived owner bootstrap (`browserUrl`) that the gateway hands to one browser, which then keeps a device
 * credential of its own. The shared token never goes into a browser URL: the result's `url` (which carries it) is
 * read and dropped here.
 */
export interface ControlUiLink {
  /** Open this in the browser, once, soon. */
  browserUrl: string;
  /** When the bootstrap in it stops working (ms since the epoch), if OpenClaw says. */
  expiresAtMs?: number;
  port?: number;
}

export class ControlUiError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export interface ControlUiOptions {
  install: Pick<OpenclawInstall, 'entry' | 'nodeBin'>;
  /** The environment OpenClaw's gateway runs with (its state dir and config come from it). */
  env: NodeJS.ProcessEnv;
  /** When given, the link must point at this port on loopback. */
  expectPort?: number;
  timeoutMs?: number;
}

const MAX_OUTPUT = 256 * 1024;

/** Runs OpenClaw's `dashboard --json` (it opens nothing, prompts nothing, starts nothing) and vets its answer. */
export async function controlUiLink(options: ControlUiOptions): Promise<ControlUiLink> {
  const { code, stdout, stderr, timedOut } = await run(
    options.install.nodeBin,
    [options.install.entry, 'dashboard', '--json'],
    options.env,
    options.timeoutMs ?? 60_000,
  );
  const fix = 'Start OpenClaw’s gateway (Clawdesk’s tray, or `clawdesk openclaw start`), then try again.';
  if (timedOut) throw new ControlUiError('OpenClaw did not answer with a Control UI link in time', fix);
  const answer = lastJsonObject(stdout);
  if (!answer) {
    throw new ControlUiError(
      `OpenClaw gave no Control UI link (exit ${code}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''})`,
      fix,
    );
  }
  if (answer.ok !== true || typeof answer.browserUrl !== 'string') {
    const reason = typeof answer.reason === 'string' ? answer.reason : 'no browser link was issued';
    throw new ControlUiError(`OpenClaw could not issue a Control UI link: ${reason}`, fix);
  }
  let url: URL;
  try {
    url = new URL(answer.browserUrl);
  } catch {
    throw new ControlUiError('OpenClaw’s Control UI link is not a URL', fix);
  }
  // Only ever a page of the local gateway: the link carries an owner credential.
  const localGateway = (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHostName(url.hostname);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!localGateway || (options.expectPort !== undefined && port !== options.expectPort)) {
    throw new ControlUiError(
      `OpenClaw’s Control UI link points at ${url.protocol}//${url.host}, not this machine’s gateway${options.expectPort ? ` on port ${options.expectPort}` : ''}`,
      'Check `gateway.port` and `gateway.mode` in openclaw.json: Clawdesk opens only the Control UI of the gateway it runs or attaches to.',
    );
  }
  return {
    browserUrl: url.href,
    ...(typeof answer.browserBootstrapExpiresAtMs === 'number'
      ? { expiresAtMs: answer.browserBootstrapExpiresAtMs }
      : {}),
    port,
  };
}

function lastJsonObject(text: string): Record<string, unknown> | undefined {
  const lines = text.split('\n').filter((line) => line.trim().startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value: unknown = JSON.parse(lines[i]);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // Not the answer line.
    }
  }
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-MAX_OUTPUT)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-MAX_OUTPUT)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}`, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

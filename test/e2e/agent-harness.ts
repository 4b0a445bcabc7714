import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  runOpenclaw,
  type AuthMode,
  type OpenclawEnvironment,
  type RunResult,
} from '../interop/openclaw-harness';
import { makeTempDir } from '../interop/interop-target';
import { MODEL_ID, MODEL_PROVIDER, type ModelServer, type TurnScript } from './model-server';

/**
 * A real `openclaw agent --local` (the pinned openclaw from the interop cache, isolated state, loopback guard) whose
 * model is the scripted server and whose exec tool runs on a node of the gateway it is pointed at.
 */

export interface AgentOptions {
  gatewayPort: number;
  authMode: AuthMode;
  token?: string;
  password?: string;
  model: ModelServer;
  /** The agent's `tools.exec.ask` (default `always`); the node's own policy is the other half. */
  ask?: 'always' | 'on-miss' | 'off';
  /**
   * The state dir the agent uses (default: its own). OpenClaw's gateway verifies the agent's runtime identity token
   * against the exec-approvals secret of its own state, so an agent of OpenClaw's gateway shares that state dir.
   */
  stateDir?: string;
  /**
   * Gateway-backed turns (`openclaw agent` without `--local`): the turn runs inside OpenClaw's gateway, whose own
   * config must then carry agentConfig(). `--local` is refused while a gateway owns the state dir.
   */
  gatewayBacked?: boolean;
  /** Runs every turn in this network namespace (a "container" or another machine). */
  netns?: string;
  /** Added to the agent's environment (e.g. `OPENCLAW_GATEWAY_URL` for a gateway it reaches by another address). */
  env?: NodeJS.ProcessEnv;
}

export interface AgentTurn {
  trigger: string;
  marker: string;
  sessionKey: string;
  result: RunResult;
  /** What the agent printed as its final text (stdout). */
  finalText: string;
}

export interface Agent {
  environment: OpenclawEnvironment;
  /**
   * Gives the agent's state dir a saved device identity, as a user's would have after any gateway command: in token
   * mode `--local` turns replay an approved `system.run` only with a persisted identity.
   */
  ensureDeviceIdentity(): Promise<string>;
  /** Runs one turn: the model asks exec to run `command` (with the marker substituted for `{MARKER}`). */
  turn(
    script: Omit<TurnScript, 'command'> & { command: (marker: string) => string },
    options?: { timeoutMs?: number },
  ): Promise<AgentTurn>;
}

export function createAgent(options: AgentOptions): Agent {
  const environment = openclawEnv({
    tmpDir: makeTempDir('agent'),
    port: options.gatewayPort,
    authMode: options.authMode,
    token: options.token,
    password: options.password,
  });
  const config = {
    ...JSON.parse(fs.readFileSync(environment.configPath, 'utf8')),
    ...agentConfig(options.model, options.ask),
  };
  fs.writeFileSync(environment.configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  if (options.authMode === 'password') environment.env.OPENCLAW_GATEWAY_PASSWORD = options.password;
  if (options.stateDir) environment.env.OPENCLAW_STATE_DIR = options.stateDir;
  Object.assign(environment.env, options.env);
  return agentOf(environment, config, options);
}

/** The config sections that make an openclaw agent use the scripted model and run exec on a node. */
export function agentConfig(model: ModelServer, ask: 'always' | 'on-miss' | 'off' = 'always'): Record<string, unknown> {
  const config: Record<string, any> = {};
  config.models = {
    mode: 'merge',
    catalogRefresh: { enabled: false },
    providers: {
      [MODEL_PROVIDER]: {
        baseUrl: model.baseUrl,
        apiKey: 'e2e-not-a-secret',
        api: 'openai-completions',
        models: [
          {
            id: MODEL_ID,
            name: 'Scripted e2e model',
            input: ['text'],
            contextWindow: 128_000,
            maxTokens: 4096,
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          },
        ],
      },
    },
  };
  config.agents = { defaults: { model: { primary: `${MODEL_PROVIDER}/${MODEL_ID}` }, heartbeat: { every: '0m' } } };
  config.tools = { exec: { host: 'node', security: 'full', ask } };
  return config;
}

function agentOf(environment: OpenclawEnvironment, config: Record<string, unknown>, options: AgentOptions): Agent {
  return {
    environment,
    ensureDeviceIdentity: () => ensureOpenclawDeviceIdentity(environment.env),
    async turn(script, turnOptions = {}) {
      const id = randomUUID().slice(0, 8);
      const trigger = `E2ETURN${id}`;
      const marker = `CLAWDESK-E2E-${id}-OK`;
      options.model.script(trigger, { ...script, command: script.command(marker) });
      const sessionKey = `agent:main:e2e-${id}`;
      const result = await runOpenclaw(
        [
          'agent',
          ...(options.gatewayBacked ? [] : ['--local']),
          '--session-key',
          sessionKey,
          '--message',
          `Please run the command for ${trigger} with the exec tool.`,
        ],
        environment.env,
        { timeoutMs: turnOptions.timeoutMs ?? 300_000, netns: options.netns },
      );
      return { trigger, marker, sessionKey, result, finalText: result.stdout.trim() };
    },
  };
}

/**
 * Gives an openclaw state dir (named by `env`) a saved device identity, as a user's has after any device-authenticated
 * gateway call, and returns its device id. openclaw's own identity store creates it (its loadOrCreateDeviceIdentity,
 * found by name in the pinned dist), so the record is exactly what openclaw writes.
 */
export async function ensureOpenclawDeviceIdentity(env: NodeJS.ProcessEnv): Promise<string> {
  const install = ensureOpenclawInstalled();
  const dist = path.join(path.dirname(install.openclawEntry), 'dist');
  const candidates = fs
    .readdirSync(dist)
    .filter((f) => /^device-identity-[\w-]+\.mjs$/.test(f))
    .map((f) => path.join(dist, f));
  const script = `
    for (const file of ${JSON.stringify(candidates)}) {
      const mod = await import(require('node:url').pathToFileURL(file).href);
      const create = Object.values(mod).find((f) => typeof f === 'function' && f.name === 'loadOrCreateDeviceIdentity');
      if (create) { const id = create(); console.log(JSON.stringify({ deviceId: id.deviceId })); process.exit(0); }
    }
    console.error('loadOrCreateDeviceIdentity not found'); process.exit(1);`;
  // Asynchronously: a blocking spawnSync stalls the vitest worker's RPC under load ("Timeout calling onTaskUpdate").
  const result = await runProcess(install.nodeBin, ['--input-type=commonjs', '-e', `(async () => {${script}})()`], {
    env,
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`could not create the device identity: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!).deviceId as string;
}

export function describeTurn(turn: AgentTurn): string {
  return `agent turn ${turn.trigger}: exit ${turn.result.code}${turn.result.timedOut ? ' (timed out)' : ''} in ${turn.result.durationMs} ms\n--- stdout ---\n${turn.result.stdout.slice(-3000)}\n--- stderr ---\n${turn.result.stderr.slice(-4000)}`;
}

/** A child process's exit code and output, without blocking the event loop. */
function runProcess(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

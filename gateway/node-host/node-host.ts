import os from 'node:os';
import {
  ExecApprovalsError,
  ExecApprovalsStore,
  importLegacyExecApprovals,
  type LegacyApprovalsReport,
} from '../exec/approvals-file';
import { CLAWDESK_EXEC_DEFAULTS } from '../exec/policy';
import { effectiveRunTimeoutMs, withRunSignal } from '../exec/process-runner';
import { NodeCommandError, SystemRunner, type ExecLifecycleEvent } from '../exec/system-run';
import type { GatewayClientOptions, GatewaySession } from '../client/gateway-client';
import type { DeviceSigner } from '../protocol/device-auth';
import { CLAWDESK_VERSION } from '../version';
import { ReconnectingSession, type ReconnectOptions, type SessionStatus } from './reconnecting-session';

/**
 * Clawdesk's exec runner as an OpenClaw node (docs/protocol.md § Nodes): connects as `node-host`/`node`, declares its
 * commands in `connect`, answers `node.invoke.request` with `node.invoke.result`, and reports `exec.*` through
 * `node.event`.
 */

export const NODE_COMMANDS = [
  'system.run.prepare',
  'system.run',
  'system.which',
  'system.execApprovals.get',
  'system.execApprovals.set',
] as const;
export const NODE_CAPS = ['system'] as const;

export interface NodeHostOptions {
  /** ws://host:port of any OpenClaw-compatible gateway. */
  url: string;
  token?: string;
  password?: string;
  /** The node's device identity (the keychain-backed one in the app, a file or ephemeral one elsewhere). */
  identity: DeviceSigner;
  /** Where exec-approvals.json lives. */
  stateDir: string;
  displayName?: string;
  /** Home used for the legacy ~/.openclaw import check; defaults to os.homedir(). */
  home?: string;
  /** Working directory for commands that name none. */
  defaultCwd?: string;
  baseEnv?: Record<string, string | undefined>;
  reconnect?: ReconnectOptions;
  connectTimeoutMs?: number;
  maxOutputChars?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  onStatus?: (status: SessionStatus) => void;
  onExecEvent?: (event: ExecLifecycleEvent, payload: Record<string, unknown>) => void;
  /** A remote gateway's extras: its certificate pin and the device token it issued (gateway/remote/). */
  connection?: Pick<GatewayClientOptions, 'verifyServerCertificate' | 'deviceToken'>;
  /** Aborting stops the runner, also while its first connect is still pending (start() then rejects). */
  signal?: AbortSignal;
}

export interface NodeHostHandle {
  readonly nodeId: string;
  readonly legacyApprovals: LegacyApprovalsReport;
  /** The live session, when connected. */
  session(): GatewaySession | undefined;
  status(): SessionStatus;
  /** Ends a pending reconnect wait now (resume from sleep, network back); false when none is pending. */
  reconnectNow(): boolean;
  stop(): Promise<void>;
}

/**
 * Stable platform names the gateway's command policy recognizes, never an OS version
 * (docs/protocol.md § One device identity, one look).
 */
export function nodePlatform(platform: NodeJS.Platform = process.platform): { platform: string; deviceFamily: string } {
  if (platform === 'win32') return { platform: 'windows', deviceFamily: 'Windows' };
  if (platform === 'darwin') return { platform: 'macos', deviceFamily: 'Mac' };
  return { platform: 'linux', deviceFamily: 'Linux' };
}

/** Clawdesk's gateway sends this when nobody waits for an invoke any more (see gateway/nodes/node-invoke.ts). */
export const INVOKE_CANCEL_EVENT = 'node.invoke.cancel';
/** system.run's own upper bound on timeoutMs (its params schema). */
const MAX_RUN_TIMEOUT_MS = 24 * 3600_000;

/**
 * The longest a `system.run` may take inside an invoke of `invokeTimeoutMs`: a little less, so the run's own
 * "timed out" result (with its output so far) reaches the gateway before the gateway gives up on the invoke.
 */
export function runCeilingMs(invokeTimeoutMs: number): number {
  return Math.max(1, Math.floor(invokeTimeoutMs - Math.min(1_000, invokeTimeoutMs / 10)));
}

/**
 * `system.run` params with their timeout capped at the invoke's ceiling (absent → the default, then capped).
 * Params the runner will refuse anyway (a timeoutMs of the wrong type or range) are left as they are.
 */
export function capRunTimeout(params: unknown, ceilingMs: number | undefined): unknown {
  if (ceilingMs === undefined || !params || typeof params !== 'object' || Array.isArray(params)) return params;
  const asked = (params as { timeoutMs?: unknown }).timeoutMs;
  const valid =
    asked === undefined ||
    asked === null ||
    (Number.isInteger(asked) && (asked as number) >= 0 && (asked as number) <= MAX_RUN_TIMEOUT_MS);
  if (!valid) return params;
  return {
    ...(params as Record<string, unknown>),
    timeoutMs: Math.min(effectiveRunTimeoutMs(asked as number | null | undefined), ceilingMs),
  };
}

interface InvokeRequest {
  id: string;
  nodeId: string;
  command: string;
  paramsJSON?: string | null;
  params?: unknown;
  timeoutMs?: number;
  idempotencyKey?: string;
}

/**
 * Materializes `<stateDir>/exec-approvals.json` with Clawdesk's defaults when it is missing, as the reference node host
 * does on start (docs/exec-policy.md § The policy file). A failure is reported, not fatal: without a file the strict
 * defaults apply.
 */
async function ensureApprovalsFile(store: ExecApprovalsStore, log: NonNullable<NodeHostOptions['log']>): Promise<void> {
  try {
    const result = await store.ensureExists(CLAWDESK_EXEC_DEFAULTS);
    if (result.created) log('info', `wrote the default exec approvals policy to ${store.filePath}`);
    else if (result.existing !== 'file') {
      log(
        'warn',
        `${store.filePath} is ${result.existing === 'symlink' ? 'a symbolic link' : 'not a regular file'}; every exec request is refused until it is a regular file`,
      );
    }
  } catch (error) {
    log('warn', `could not write the default exec approvals policy to ${store.filePath}: ${(error as Error).message}`);
  }
}

export async function startNodeHost(options: NodeHostOptions): Promise<NodeHostHandle> {
  const log = options.log ?? (() => undefined);
  const legacyApprovals = await importLegacyExecApprovals({
    stateDir: options.stateDir,
    home: options.home ?? os.homedir(),
  });
  if (legacyApprovals.kind === 'imported')
    log('warn', `imported exec approvals from ${legacyApprovals.legacyPath} into ${legacyApprovals.targetPath}`);
  else if (legacyApprovals.kind === 'conflict' || legacyApprovals.kind === 'unreadable')
    log('warn', legacyApprovals.message);

  const store = new ExecApprovalsStore({ stateDir: options.stateDir });
  // After the legacy import, so an imported policy is never pre-empted by the defaults.
  await ensureApprovalsFile(store, log);
  const { platform, deviceFamily } = nodePlatform();
  let live: ReconnectingSession | undefined;

  const sendNodeEvent = (event: ExecLifecycleEvent, payload: Record<string, unknown>) => {
    options.onExecEvent?.(event, payload);
    const payloadJSON = JSON.stringify(payload);
    // After the current turn: the spawn and the invoke result go first, lifecycle reports follow.
    setImmediate(() => {
      const session = live?.session;
      if (!session) return;
      session.request('node.event', { event, payloadJSON }, { timeoutMs: 10_000 }).catch((error) => {
        log('debug', 'node.event not delivered', { event, error: String(error) });
      });
    });
  };

  const runner = new SystemRunner({
    store,
    defaultCwd: options.defaultCwd,
    baseEnv: options.baseEnv,
    maxOutputChars: options.maxOutputChars,
    emit: sendNodeEvent,
  });

  const dispatch = async (command: string, params: unknown): Promise<unknown> => {
    switch (command) {
      case 'system.run.prepare':
        return runner.prepare(params);
      case 'system.run':
        return runner.run(params);
      case 'system.which':
        return runner.which(params);
      case 'system.execApprovals.get':
        // Deleted while running: written again, so the snapshot always carries a hash a client can write against.
        await store.ensureExists(CLAWDESK_EXEC_DEFAULTS).catch(() => undefined);
        return store.snapshot();
      case 'system.execApprovals.set': {
        const p = (params ?? {}) as { file?: unknown; baseHash?: unknown };
        if (p.baseHash !== undefined && p.baseHash !== null && typeof p.baseHash !== 'string') {
          throw new NodeCommandError('INVALID_REQUEST', 'invalid params: baseHash must be a string');
        }
        try {
          return await store.set(p.file, p.baseHash ?? undefined);
        } catch (error) {
          if (error instanceof ExecApprovalsError) throw new NodeCommandError('INVALID_REQUEST', error.message);
          throw error;
        }
      }
      default:
        throw new NodeCommandError('INVALID_REQUEST', `unknown command: ${command}`);
    }
  };

  /** Runs the gateway cancelled: their answers are not sent. */
  const cancelled = new WeakSet<AbortController>();

  /**
   * One invoke. Its run ends, and its process tree is killed, whichever comes first: the run's own timeout (capped
   * at the invoke's `timeoutMs`, which this node enforces itself: a gateway that never cancels cannot leave runs
   * behind), the invoke's deadline, a `node.invoke.cancel` from the gateway, or the gateway connection closing
   * (the answer could not be delivered any more).
   */
  const onInvoke = async (session: GatewaySession, req: InvokeRequest, inflight: Map<string, AbortController>) => {
    let result: Record<string, unknown>;
    const controller = new AbortController();
    const invokeTimeoutMs =
      typeof req.timeoutMs === 'number' && Number.isFinite(req.timeoutMs) && req.timeoutMs > 0
        ? req.timeoutMs
        : undefined;
    const deadline = invokeTimeoutMs
      ? setTimeout(() => controller.abort(new Error(`invoke timed out after ${invokeTimeoutMs} ms`)), invokeTimeoutMs)
      : undefined;
    deadline?.unref();
    if (typeof req.id === 'string') inflight.set(req.id, controller);
    try {
      let params: unknown = req.params;
      if (typeof req.paramsJSON === 'string') {
        try {
          params = JSON.parse(req.paramsJSON);
        } catch {
          throw new NodeCommandError('INVALID_REQUEST', 'invalid params: paramsJSON is not JSON');
        }
      }
      if (req.command === 'system.run')
        params = capRunTimeout(params, invokeTimeoutMs === undefined ? undefined : runCeilingMs(invokeTimeoutMs));
      const payload = await withRunSignal(controller.signal, () => dispatch(req.command, params));
      result = { id: req.id, nodeId: req.nodeId, ok: true, payloadJSON: JSON.stringify(payload ?? null) };
    } catch (error) {
      const known = error instanceof NodeCommandError;
      if (!known) log('error', `node command ${req.command} failed`, { error: String(error) });
      result = {
        id: req.id,
        nodeId: req.nodeId,
        ok: false,
        error: {
          code: known ? error.code : 'UNAVAILABLE',
          message: known ? error.message : `node error: ${(error as Error).message}`,
        },
      };
    } finally {
      clearTimeout(deadline);
      if (inflight.get(req.id) === controller) inflight.delete(req.id);
    }
    // Cancelled by the gateway: nobody waits for the answer there.
    if (session.closed || cancelled.has(controller)) return;
    await session.request('node.invoke.result', result, { timeoutMs: 30_000 }).catch((error) => {
      log('warn', 'node.invoke.result not delivered', { id: req.id, error: String(error) });
    });
  };

  live = new ReconnectingSession(
    {
      url: options.url,
      token: options.token,
      password: options.password,
      device: options.identity,
      clientId: 'node-host',
      clientMode: 'node',
      clientVersion: CLAWDESK_VERSION,
      role: 'node',
      scopes: [],
      platform,
      deviceFamily,
      displayName: options.displayName ?? `Clawdesk on ${os.hostname()}`,
      caps: [...NODE_CAPS],
      // Declared before connect, so the gateway never sees a node without commands (docs/protocol.md § Nodes).
      commands: [...NODE_COMMANDS],
      pathEnv: (options.baseEnv ?? process.env).PATH,
      connectTimeoutMs: options.connectTimeoutMs,
      startupRetries: 20,
      ...options.connection,
    },
    options.reconnect,
  );
  if (options.signal?.aborted) throw new Error('stopped before it connected');
  options.signal?.addEventListener('abort', () => void live?.stop(), { once: true });
  live.on('status', (status: SessionStatus) => {
    options.onStatus?.(status);
    if (status.state === 'connected') {
      log('info', `exec runner connected to ${options.url} as node ${options.identity.deviceId.slice(0, 12)}…`);
      const session = status.session;
      const inflight = new Map<string, AbortController>();
      session.on('event', (event: string, payload: unknown) => {
        if (!payload || typeof payload !== 'object') return;
        if (event === 'node.invoke.request') void onInvoke(session, payload as InvokeRequest, inflight);
        else if (event === INVOKE_CANCEL_EVENT) {
          const { id, nodeId, reason } = payload as { id?: unknown; nodeId?: unknown; reason?: unknown };
          const controller = typeof id === 'string' ? inflight.get(id) : undefined;
          if (!controller || (nodeId !== undefined && nodeId !== options.identity.deviceId)) return;
          cancelled.add(controller);
          const why = typeof reason === 'string' && reason ? reason.slice(0, 200) : 'cancelled by the gateway';
          log('info', `invoke ${id} cancelled by the gateway (${why}); stopping its run`);
          controller.abort(new Error(why));
        }
      });
      // The answer could not be delivered any more: stop what this session started.
      session.once('close', () => {
        for (const controller of inflight.values()) controller.abort(new Error('gateway connection closed'));
        inflight.clear();
      });
    } else if (status.state === 'waiting') {
      log(
        'warn',
        `exec runner: ${status.error}; retrying in ${Math.round(status.retryInMs / 1000)} s`,
        status.pairingRequestId ? { requestId: status.pairingRequestId } : undefined,
      );
    } else if (status.state === 'stopped' && status.error) {
      log('error', `exec runner stopped: ${status.error}`);
    }
  });
  await live.start();
  const session = live;
  return {
    nodeId: options.identity.deviceId,
    legacyApprovals,
    session: () => session.session,
    status: () => session.status,
    reconnectNow: () => session.reconnectNow(),
    stop: async () => {
      runner.killRunning();
      await session.stop();
    },
  };
}

import { CLAWDESK_VERSION } from '../version';
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import path from 'node:path';
import { redactConfigSecrets } from '../config/secret-redaction';
import { emptyParams } from '../protocol/method-schemas';
import {
  GatewayMethodError,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodDefinition,
  implementMethod,
} from './gateway-module';

const GATEWAY_VERSION = CLAWDESK_VERSION;

/** The `eventLoop` block of `health` (docs/protocol.md § Methods). */
type EventLoopFigures = {
  degraded: boolean;
  degradedSinceMs: number | null;
  reasons: string[];
  intervalMs: number;
  delayP99Ms: number;
  delayMaxMs: number;
  utilization: number;
  cpuCoreRatio: number;
};

export interface CoreModuleOptions {
  stateDir: string;
  configPath?: string;
  authMode: 'none' | 'token' | 'password';
}

export type PresenceEntry = {
  host: string;
  ip?: string;
  version: string;
  platform: string;
  deviceFamily?: string;
  mode: string;
  reason: string;
  instanceId?: string;
  deviceId?: string;
  roles?: string[];
  scopes?: string[];
  text: string;
  ts: number;
};

function deviceFamilyOf(platform: NodeJS.Platform): string {
  return platform === 'darwin' ? 'Mac' : platform === 'win32' ? 'Windows' : platform === 'linux' ? 'Linux' : platform;
}

/**
 * Methods every OpenClaw client expects from a gateway: `health`, `status`, `system-presence`, `config.get`.
 * Clawdesk runs no agents or channels, so those sections are present and empty.
 */
export function createCoreModule(options: CoreModuleOptions) {
  let host: GatewayHost | undefined;
  const instanceId = randomUUID();
  const startedAt = Date.now();
  const version = { presence: 1, health: 1 };
  const hostname = os.hostname();
  const sessionsPath = path.join(options.stateDir, 'agents', 'main', 'sessions');

  const selfPresence = (): PresenceEntry => ({
    host: hostname,
    version: GATEWAY_VERSION,
    platform: `${process.platform} ${os.release()}`,
    deviceFamily: deviceFamilyOf(process.platform),
    mode: 'gateway',
    reason: 'self',
    instanceId,
    text: `Gateway: ${hostname} · Clawdesk ${GATEWAY_VERSION} · mode gateway`,
    ts: startedAt,
  });

  const presenceOf = (conn: GatewayConnection): PresenceEntry => ({
    host: conn.client.displayName ?? conn.client.id,
    ip: conn.remoteAddress,
    version: conn.client.version,
    platform: conn.client.platform,
    deviceFamily: conn.client.deviceFamily,
    mode: conn.client.mode,
    reason: 'connect',
    instanceId: conn.client.instanceId,
    deviceId: conn.deviceId,
    roles: [conn.role],
    scopes: [...conn.scopes],
    text: `${conn.role === 'node' ? 'Node' : 'Client'}: ${conn.client.displayName ?? conn.client.id} · ${conn.client.version} · mode ${conn.client.mode}`,
    ts: conn.connectedAtMs,
  });

  const presence = (): PresenceEntry[] => {
    const entries = [selfPresence()];
    // CLI connections are one-shot calls; like the reference, they are not tracked as presence.
    for (const conn of host?.connections() ?? [])
      if (conn.client.mode !== 'cli' && conn.client.mode !== 'probe') entries.push(presenceOf(conn));
    return entries;
  };

  // Event-loop health, as the CLI shows it ("Gateway event loop: ok max=.. p99=.."); recomputed at most once a second.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  let loopSample = {
    at: 0,
    elu: performance.eventLoopUtilization(),
    cpu: process.cpuUsage(),
    // Replaced at the first call (its `at` of 0 is always a second old).
    figures: {} as EventLoopFigures,
  };
  const eventLoop = () => {
    const now = Date.now();
    if (now - loopSample.at >= 1000) {
      const elu = performance.eventLoopUtilization(loopSample.elu);
      const cpu = process.cpuUsage(loopSample.cpu);
      const intervalMs = loopSample.at ? now - loopSample.at : performance.now();
      const delayP99Ms = Math.round(loopDelay.percentile(99) / 1e4) / 100;
      const delayMaxMs = Math.round(loopDelay.max / 1e4) / 100;
      const degraded = delayP99Ms > 500;
      loopSample = {
        at: now,
        elu: performance.eventLoopUtilization(),
        cpu: process.cpuUsage(),
        figures: {
          degraded,
          degradedSinceMs: null,
          reasons: degraded ? ['event-loop-delay'] : [],
          intervalMs,
          delayP99Ms,
          delayMaxMs,
          utilization: Math.round(elu.utilization * 1000) / 1000,
          cpuCoreRatio: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, intervalMs)) * 1000) / 1000,
        },
      };
      loopDelay.reset();
    }
    return loopSample.figures;
  };

  // Clawdesk runs no agents of its own; it reports OpenClaw's default agent with an empty session store, so the
  // CLI describes this gateway rather than substituting its own local configuration.
  const mainSessions = () => ({ path: sessionsPath, count: 0, recent: [] as unknown[] });
  const healthSummary = () => {
    const started = performance.now();
    const summary = {
      ok: true,
      ts: Date.now(),
      durationMs: 0,
      channels: {},
      channelOrder: [],
      channelLabels: {},
      heartbeatSeconds: 0,
      defaultAgentId: 'main',
      agents: [
        {
          agentId: 'main',
          isDefault: true,
          heartbeat: { enabled: false, every: 'disabled', everyMs: null },
          sessions: mainSessions(),
        },
      ],
      sessions: mainSessions(),
      eventLoop: eventLoop(),
    };
    // Whole milliseconds, as the reference reports it (the CLI prints it as "<n>ms").
    summary.durationMs = Math.round(performance.now() - started);
    return summary;
  };

  const readConfig = async () => {
    const configPath = options.configPath ?? path.join(options.stateDir, 'openclaw.json');
    let raw: string | null;
    try {
      raw = await fs.readFile(configPath, 'utf8');
    } catch {
      raw = null;
    }
    let config: unknown = {};
    let valid = true;
    let issues: string[] = [];
    if (raw !== null) {
      try {
        config = require('json5').parse(raw);
      } catch (error) {
        valid = false;
        issues = [(error as Error).message];
      }
    }
    return { configPath, raw, config: redactSecrets(config), valid, issues };
  };

  const methods: MethodDefinition[] = [
    ...agentRuntimeMethods(),
    implementMethod('health', () => healthSummary()),
    implementMethod('status', () => ({
      ok: true,
      ts: Date.now(),
      version: GATEWAY_VERSION,
      runtimeVersion: GATEWAY_VERSION,
      runtime: {
        name: 'clawdesk',
        version: GATEWAY_VERSION,
        node: process.version,
        platform: process.platform,
        pid: process.pid,
      },
      uptimeMs: Date.now() - startedAt,
      authMode: options.authMode,
      stateDir: options.stateDir,
      heartbeat: { defaultAgentId: 'main', agents: [] },
      channelSummary: [],
      queuedSystemEvents: [],
      sessions: {
        paths: [sessionsPath],
        count: 0,
        defaults: { model: null, contextTokens: null },
        recent: [],
        byAgent: [],
      },
      connections: [...(host?.connections() ?? [])].length,
    })),
    implementMethod('system-presence', () => presence()),
    implementMethod('config.get', async () => {
      const { configPath, raw, config, valid, issues } = await readConfig();
      return {
        path: configPath,
        exists: raw !== null,
        valid,
        issues,
        hash: raw === null ? '' : createHash('sha256').update(raw).digest('hex'),
        config,
        parsed: config,
      };
    }),
  ];

  return {
    name: 'core',
    methods: () => methods,
    events: () => ['presence'],
    stop() {
      loopDelay.disable();
    },
    start(gatewayHost: GatewayHost) {
      host = gatewayHost;
    },
    onConnected(conn: GatewayConnection) {
      if (conn.client.mode === 'cli' || conn.client.mode === 'probe') return;
      version.presence += 1;
      host?.broadcast('presence', { presence: presence() }, (c) => c.role === 'operator' && c.scopes.length > 0);
    },
    onDisconnected(conn: GatewayConnection) {
      if (conn.client.mode === 'cli' || conn.client.mode === 'probe') return;
      version.presence += 1;
      host?.broadcast('presence', { presence: presence() }, (c) => c.role === 'operator' && c.scopes.length > 0);
    },
    presence,
    healthSummary,
    stateVersion: () => ({ ...version }),
  } satisfies GatewayModule & Record<string, unknown>;
}

export type CoreModule = ReturnType<typeof createCoreModule>;

/**
 * OpenClaw methods that run an agent inside the gateway (`openclaw agent` without `--local`, chat and session turns).
 * Clawdesk's gateway hosts no agent runtime: these answer with what to do instead of "unknown method".
 */
export const AGENT_RUNTIME_METHODS = [
  'agent',
  'agent.wait',
  'agent.identity.get',
  'chat.send',
  'chat.history',
  'chat.abort',
  'sessions.send',
  'sessions.dispatch',
] as const;

export const AGENT_RUNTIME_HINT =
  "Clawdesk's gateway does not run agents. Run the agent in its own process against this gateway with " +
  '`openclaw agent --local --session-key <key> --message <text>` (its exec requests come here for approval and run on ' +
  "Clawdesk's runner), or run OpenClaw's own gateway (`openclaw gateway run`) and let Clawdesk attach to it as node " +
  'and approver (`clawdesk node run --url ws://127.0.0.1:<port>`, or start the app while that gateway is running).';

function agentRuntimeMethods(): MethodDefinition[] {
  return AGENT_RUNTIME_METHODS.map((name) => ({
    name,
    access: { kind: 'any' } as const,
    params: emptyParams,
    handler: () => {
      throw new GatewayMethodError(
        'UNAVAILABLE',
        `${name} is not available on Clawdesk's gateway. ${AGENT_RUNTIME_HINT}`,
        {
          code: 'AGENT_RUNTIME_UNAVAILABLE',
          method: name,
          retryable: false,
        },
      );
    },
  }));
}

/**
 * Config values that are secrets (by key, by value and inside env maps) are replaced, so `config.get` never echoes
 * credentials to an `operator.read` client. The rules live in gateway/config/secret-redaction.ts.
 */
export function redactSecrets(value: unknown): unknown {
  return redactConfigSecrets(value);
}

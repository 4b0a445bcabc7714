import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectGateway, type GatewaySession } from '../gateway/client/gateway-client';
import { createExecModules } from '../gateway/approvals/exec-modules';
import { ExecApprovalsStore } from '../gateway/exec/approvals-file';
import { startNodeHost } from '../gateway/node-host/node-host';
import { createEphemeralDeviceSigner } from '../gateway/protocol/device-auth';
import { startGatewayServer } from '../gateway/server/gateway-server';
import { msSince, nowNs, summarize } from './stats';

/**
 * Exec benchmarks (issue 3, section 7), called by bench/run.ts:
 *  - approval round trip: request → approval client sees the event → resolve → requester has the decision (p50 ≤ 2 ms);
 *  - system.run of a trivial command through node.invoke vs a bare child_process.spawn (p50 ≤ bare + 3 ms).
 */

interface BenchOptions {
  log?: (line: string) => void;
  iterations?: number;
}

const TOKEN = 'bench-token';

async function withGateway<T>(
  fn: (ctx: { url: string; root: string; exec: ReturnType<typeof createExecModules> }) => Promise<T>,
): Promise<T> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-exec-bench-'));
  const exec = createExecModules();
  const gateway = await startGatewayServer({
    stateDir: path.join(root, 'gw'),
    auth: { mode: 'token', token: TOKEN },
    port: 0,
    modules: exec.modules,
  });
  try {
    return await fn({ url: gateway.url, root, exec });
  } finally {
    await gateway.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function operator(url: string, extra: Partial<Parameters<typeof connectGateway>[0]> = {}): Promise<GatewaySession> {
  return connectGateway({
    url,
    token: TOKEN,
    device: createEphemeralDeviceSigner(),
    clientId: 'gateway-client',
    clientMode: 'backend',
    scopes: ['operator.write', 'operator.approvals'],
    ...extra,
  });
}

export async function benchApprovalRoundTrip(opts: BenchOptions = {}) {
  const n = opts.iterations ?? 300;
  return withGateway(async ({ url }) => {
    const approver = await operator(url, { scopes: ['operator.approvals'], caps: ['exec-approvals'] });
    approver.on('event', (name: string, payload: any) => {
      if (name === 'exec.approval.requested')
        void approver.request('exec.approval.resolve', { id: payload.id, decision: 'allow-once' });
    });
    const agent = await operator(url);
    const samples: number[] = [];
    for (let i = 0; i < n + 30; i++) {
      const start = nowNs();
      const res = await agent.request('exec.approval.request', {
        command: 'echo hi',
        commandArgv: ['echo', 'hi'],
        host: 'gateway',
        timeoutMs: 60_000,
      });
      const ms = msSince(start);
      if (res.decision !== 'allow-once') throw new Error(`unexpected decision ${res.decision}`);
      if (i >= 30) samples.push(ms);
    }
    await agent.close();
    await approver.close();
    const s = summarize(samples);
    const result = {
      measure: 'approval round trip',
      unit: 'ms',
      p50: round3(s.p50),
      p99: round3(s.p99),
      n: s.n,
      target: '≤ 2 ms p50',
      meets: s.p50 <= 2,
    };
    opts.log?.(
      `approval round trip: p50 ${result.p50} ms, p99 ${result.p99} ms (target ≤ 2 ms) ${result.meets ? 'OK' : 'MISSED'}`,
    );
    return result;
  });
}

function bareSpawn(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

export async function benchSystemRunVsSpawn(opts: BenchOptions = {}) {
  const n = opts.iterations ?? 100;
  const argv = ['/bin/true'];
  return withGateway(async ({ url, root, exec }) => {
    const nodeState = path.join(root, 'node');
    mkdirSync(nodeState, { recursive: true });
    await new ExecApprovalsStore({ stateDir: nodeState }).set(
      { version: 1, agents: { '*': { security: 'full', ask: 'off' } } },
      undefined,
    );
    const identity = createEphemeralDeviceSigner();
    exec.approveNodeSilently(identity.deviceId);
    const node = await startNodeHost({ url, token: TOKEN, identity, stateDir: nodeState, home: root });
    for (let i = 0; i < 200 && !exec.registry.surfaceOf(identity.deviceId).includes('system.run'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const agent = await operator(url);
    const viaNode: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < n + 10; i++) {
      // Interleaved so both see the same machine load.
      let start = nowNs();
      await bareSpawn(argv);
      const b = msSince(start);
      start = nowNs();
      const res = await agent.request('node.invoke', {
        nodeId: identity.deviceId,
        command: 'system.run',
        params: { command: argv },
        idempotencyKey: randomUUID(),
      });
      const v = msSince(start);
      if (!(res.payload as { success?: boolean } | undefined)?.success)
        throw new Error(`system.run failed: ${JSON.stringify(res.payload)}`);
      if (i >= 10) {
        bare.push(b);
        viaNode.push(v);
      }
    }
    await agent.close();
    await node.stop();
    const sv = summarize(viaNode);
    const sb = summarize(bare);
    const overhead = sv.p50 - sb.p50;
    const result = {
      measure: 'system.run via node.invoke vs bare spawn',
      unit: 'ms',
      command: argv.join(' '),
      viaNodeP50: round3(sv.p50),
      viaNodeP99: round3(sv.p99),
      bareSpawnP50: round3(sb.p50),
      bareSpawnP99: round3(sb.p99),
      overheadP50: round3(overhead),
      n: sv.n,
      target: 'via node ≤ bare + 3 ms (p50)',
      meets: overhead <= 3,
    };
    opts.log?.(
      `system.run via node.invoke p50 ${result.viaNodeP50} ms vs bare spawn ${result.bareSpawnP50} ms: +${result.overheadP50} ms (target ≤ +3 ms) ${result.meets ? 'OK' : 'MISSED'}`,
    );
    return result;
  });
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

if (require.main === module) {
  void (async () => {
    const log = (line: string) => console.log(line);
    await benchApprovalRoundTrip({ log });
    await benchSystemRunVsSpawn({ log });
  })();
}

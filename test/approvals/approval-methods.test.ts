import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewaySession } from '../../gateway/client/gateway-client';
import { nextEvent } from '../helpers/gateway-fixture';
import { agentFlow, rejection, startExecHarness, waitFor, type AgentRun, type ExecHarness } from './exec-harness';

/**
 * What `openclaw approvals pending` and `openclaw approvals resolve` call (interop notes §1, §6): the three
 * `*.approval.list` methods, and the kind-agnostic `approval.get` / `approval.resolve`.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const touch = (file: string) => ['/bin/sh', '-lc', `touch ${file}`];

/** The real CLI: device-less on loopback, client `cli`, the scopes it asks for `approvals resolve`. */
const cliLike = (harness: ExecHarness) =>
  harness.operator({ device: null, clientId: 'cli', clientMode: 'cli', scopes: ['operator.admin', 'operator.approvals'] });

interface Pending {
  id: string;
  /** Settles when someone decides (the agent's two-phase request gets its final answer). */
  flow: Promise<AgentRun>;
}

/** Files an exec approval from `agent` and returns its id once the approval client `watcher` has been sent it. */
async function fileApproval(harness: ExecHarness, agent: GatewaySession, watcher: GatewaySession, file: string, o: { timeoutMs?: number; ask?: string } = {}): Promise<Pending> {
  const requested = nextEvent(watcher, 'exec.approval.requested', 10_000);
  const flow = agentFlow(agent, harness.nodeId, touch(file), { cwd: harness.work, ...o });
  flow.catch(() => undefined);
  const event = await requested;
  return { id: event.id, flow };
}

describe('the approval lists `openclaw approvals pending` calls', () => {
  it('are advertised and answer bare arrays to an admin-only operator; plugin and openclaw approvals are empty', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ device: null, clientId: 'cli', clientMode: 'cli', scopes: ['operator.admin'] });
    const methods: string[] = (admin as any).hello.features.methods;
    expect(methods).toEqual(expect.arrayContaining(['exec.approval.list', 'plugin.approval.list', 'openclaw.approval.list']));

    const [exec, plugin, openclaw] = await Promise.all([
      admin.request('exec.approval.list', {}),
      admin.request('plugin.approval.list', {}),
      admin.request('openclaw.approval.list', {}),
    ]);
    expect(exec).toEqual([]);
    expect(plugin).toEqual([]);
    expect(openclaw).toEqual([]);

    const writer = await h.operator({ scopes: ['operator.write'] });
    for (const method of ['plugin.approval.list', 'openclaw.approval.list']) {
      const err = await rejection(writer.request(method, { id: 'x', kind: 'exec', decision: 'deny' }));
      expect(err.error.details.code, method).toBe('MISSING_SCOPE');
    }
  });
});

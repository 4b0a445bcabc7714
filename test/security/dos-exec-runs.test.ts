import { mkdtempSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invoke, rejection, startExecHarness, type ExecHarness } from '../approvals/exec-harness';
import { processesIn } from '../hardening/helpers/processes';
import { commandPayload } from '../helpers/node-payload';

/**
 * Issue 9 finding 14 (denial of service): `sleep 300` and `yes` kept running after the invoke timed out and the
 * client left (no default timeout; the output cap did not stop the producer). Through Clawdesk's gateway and
 * node, end to end; the processes are found by their working directory and must be gone. Each test fails on the
 * code before the fix.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const FULL = { version: 1, agents: { '*': { security: 'full', ask: 'off' } } };
const scratch = (harness: ExecHarness) => realpathSync(mkdtempSync(path.join(harness.work, 'run-')));

describe.runIf(process.platform === 'linux')(
  'issue 9 finding 14: runs do not outlive their invoke or their requester',
  () => {
    it('issue 9 finding 14: `sleep 300` is killed when its invoke times out (the node enforces the invoke timeout itself)', async () => {
      h = await startExecHarness({ nodePolicy: FULL });
      const op = await h.operator();
      const cwd = scratch(h);
      const started = Date.now();
      const result = await invoke(op, h.nodeId, 'system.run', { command: ['sleep', '300'], cwd }, { timeoutMs: 1_500 });
      // The node's own ceiling (a little under the invoke's timeout) stopped it, so its answer still arrived.
      expect(result.payload).toMatchObject({ timedOut: true, success: false });
      expect(commandPayload(result).error).toMatch(/timed out after \d+ ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
    });

    it('issue 9 finding 14: a caller-supplied timeout beyond the invoke timeout is capped at it', async () => {
      h = await startExecHarness({ nodePolicy: FULL });
      const op = await h.operator();
      const cwd = scratch(h);
      const result = await invoke(
        op,
        h.nodeId,
        'system.run',
        { command: ['sleep', '300'], cwd, timeoutMs: 3_600_000 },
        { timeoutMs: 1_500 },
      );
      expect(result.payload).toMatchObject({ timedOut: true });
      await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
    });

    it('issue 9 finding 14: `sleep 300` is killed when the client that asked for it leaves; others are still served', async () => {
      h = await startExecHarness({ nodePolicy: FULL });
      const leaver = await h.operator();
      const stayer = await h.operator({ scopes: ['operator.read'] });
      const cwd = scratch(h);
      const pending = rejection(
        invoke(
          leaver,
          h.nodeId,
          'system.run',
          { command: ['sh', '-c', 'sleep 300 & sleep 300'], cwd },
          { timeoutMs: 3_600_000 },
        ),
      );
      await expect.poll(() => processesIn(cwd).length, { timeout: 5_000, interval: 25 }).toBe(3);
      await leaver.close();
      await pending;
      await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
      expect(await stayer.request('health', {})).toBeTruthy();
      // The node is still there for the next run.
      const after = await invoke(await h.operator(), h.nodeId, 'system.run', { command: ['true'] });
      expect(after.payload).toMatchObject({ success: true });
    });

    it('issue 9 finding 14: `yes` is stopped and killed at the output cap, and the result says it was truncated', async () => {
      h = await startExecHarness({ nodePolicy: FULL });
      const op = await h.operator();
      const cwd = scratch(h);
      const started = Date.now();
      const result = await invoke(op, h.nodeId, 'system.run', { command: ['yes'], cwd });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.payload).toMatchObject({ success: false, timedOut: false });
      expect(commandPayload(result).error).toMatch(
        /output limit reached \(200000 characters\); the command was stopped/,
      );
      expect(commandPayload(result).stdout.endsWith('\n... (truncated)')).toBe(true);
      await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
    });
  },
);

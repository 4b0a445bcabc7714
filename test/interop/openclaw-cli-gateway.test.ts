import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway } from './device-client';
import {
  cliUser,
  createPendingDevice,
  describeRun,
  interopTarget,
  REMOTE_PEER_HEADERS,
  removeTempDirs,
  startTargetGateway,
  type CliUser,
  type TargetGateway,
} from './interop-target';
import { ensureOpenclawInstalled, readEgressAttempts, type AuthMode } from './openclaw-harness';

/**
 * The real openclaw 2026.9.6 CLI against the gateway (Clawdesk's by default; CLAWDESK_INTEROP_TARGET=real runs
 * the same checks against openclaw's own gateway). Every command runs as a real process with its own HOME and
 * state dir, so everything it learns comes over the wire. Assertions are on what it prints.
 */

const target = interopTarget();
const TOKEN = 'interop-shared-token-0123456789abcdef';

function expectOk(result: { code: number | null }, full: string): void {
  if (result.code !== 0) throw new Error(`expected exit 0\n${full}`);
}

function defineSuite(authMode: AuthMode) {
  describe(`openclaw CLI → ${target} gateway, auth ${authMode}`, () => {
    let gateway: TargetGateway;
    let cli: CliUser;

    beforeAll(async () => {
      ensureOpenclawInstalled();
      gateway = await startTargetGateway(target, { authMode, token: authMode === 'token' ? TOKEN : undefined });
      cli = cliUser(gateway);
    });

    afterAll(async () => {
      await gateway?.stop();
      removeTempDirs();
    });

    if (authMode === 'none') {
      // Run first, while the CLI has no device identity yet: the exact situation of the user reports
      // (docs/interop-notes.md § 4. `auth: none`).
      it('devices list works for a device-less local CLI (the "device identity required" bug)', async () => {
        const result = await cli.run(['devices', 'list', '--json']);
        if (target === 'real') {
          // openclaw's own gateway still has the bug; this documents it.
          expect(result.code).toBe(1);
          expect(result.stderr).toContain('device identity required');
          return;
        }
        expectOk(result, describeRun(result));
        const list = JSON.parse(result.stdout);
        expect(Array.isArray(list.pending)).toBe(true);
        expect(Array.isArray(list.paired)).toBe(true);
      });
    }

    it('gateway probe reaches the gateway and reads its status', async () => {
      const result = await cli.run(['gateway', 'probe']);
      expectOk(result, describeRun(result));
      expect(result.stdout).toContain('Reachable: yes');
      expect(result.stdout).toMatch(new RegExp(`Local loopback ws://127\\.0\\.0\\.1:${gateway.port}\\s+Connect: ok`));
      if (target === 'clawdesk') {
        // Clawdesk grants the probe operator.read, so the CLI's read diagnostics (status, presence, config) run.
        expect(result.stdout).toContain('Read probe: ok');
        expect(result.stdout).not.toContain('missing scope');
      } else if (authMode === 'token') {
        expect(result.stdout).toContain('Read probe: limited - missing scope: operator.read');
      } else {
        expect(result.stdout).toContain('Read probe: failed - device identity required');
      }
    });

    it('gateway status --require-rpc gets an RPC answer', async () => {
      const result = await cli.run(['gateway', 'status', '--require-rpc']);
      expectOk(result, describeRun(result));
      expect(result.stdout).toContain(`Probe target: ws://127.0.0.1:${gateway.port}`);
      expect(result.stdout).toContain('Read probe: ok');
      expect(result.stdout).toMatch(/Gateway version: \S+/);
      expect(result.stdout).toContain(`Listening: 127.0.0.1:${gateway.port}`);
    });

    it('health prints the gateway health summary, and --json is the health result', async () => {
      const text = await cli.run(['health']);
      expectOk(text, describeRun(text));
      expect(text.stdout).toMatch(/Gateway probe duration: \d+ms/);
      expect(text.stdout).toMatch(/Agents: \S+ \(default\)/);
      expect(text.stdout).toMatch(/Session store \(\S+\): \S+ \(\d+ entries\)/);

      const health = await cli.json(['health']);
      expect(health.ok).toBe(true);
      expect(typeof health.ts).toBe('number');
      expect(typeof health.defaultAgentId).toBe('string');
    });

    describe('device pairing through the CLI', () => {
      if (authMode === 'none' && target === 'real') {
        // openclaw's gateway refuses a device-less CLI here (the bug above). Let the CLI make itself a device
        // identity first (`approvals get --gateway` does), so the rest of these tests can be proven on it.
        beforeAll(async () => {
          const result = await cli.run(['approvals', 'get', '--gateway']);
          expectOk(result, describeRun(result));
        });
      }

      it('devices list shows a pending request a remote device created, in text and JSON', async () => {
        const pending = await createPendingDevice(gateway);
        const list = await cli.json(['devices', 'list']);
        const item = list.pending.find((p: any) => p.requestId === pending.requestId);
        expect(item).toMatchObject({
          requestId: pending.requestId,
          deviceId: pending.device.deviceId,
          publicKey: pending.device.publicKeyB64Url,
        });
        expect(item.role === 'operator' || item.roles?.includes('operator')).toBe(true);

        const text = await cli.run(['devices', 'list']);
        expectOk(text, describeRun(text));
        expect(text.stdout).toMatch(/Pending \(\d+\)/);
        expect(text.stdout).toContain(pending.requestId);
        expect(text.stdout).toContain('new pairing');
      });

      it('devices approve without an id only previews the request and exits 1', async () => {
        const pending = await createPendingDevice(gateway);
        const result = await cli.run(['devices', 'approve']);
        expect(result.code).toBe(1);
        expect(result.stdout).toContain('Selected pending device request');
        expect(result.stderr).toMatch(/Approve this exact request with: openclaw devices approve [0-9a-f-]{36}/);
        // Nothing was approved by the preview.
        const list = await cli.json(['devices', 'list']);
        expect(list.pending.some((p: any) => p.requestId === pending.requestId)).toBe(true);
        expect(list.paired.some((p: any) => p.deviceId === pending.device.deviceId)).toBe(false);
      });

      it('devices approve <id> pairs the device, which can then connect from the same remote address', async () => {
        const pending = await createPendingDevice(gateway);
        const result = await cli.run(['devices', 'approve', pending.requestId]);
        expectOk(result, describeRun(result));
        expect(result.stdout).toContain(`Approved ${pending.device.deviceId} (${pending.requestId})`);

        const list = await cli.json(['devices', 'list']);
        expect(list.pending.some((p: any) => p.requestId === pending.requestId)).toBe(false);
        const paired = list.paired.find((p: any) => p.deviceId === pending.device.deviceId);
        expect(paired).toBeDefined();
        expect(paired.scopes ?? paired.approvedScopes).toContain('operator.read');

        const again = await connectGateway({
          port: gateway.port,
          token: gateway.token,
          device: pending.device,
          scopes: ['operator.read'],
          headers: REMOTE_PEER_HEADERS,
        });
        expect(again.error).toBeUndefined();
        expect(again.ok).toBe(true);
        expect(again.hello?.auth?.deviceToken).toEqual(expect.any(String));
        await again.client?.close();
      });

      it('devices reject <id> drops the request and leaves the device unpaired', async () => {
        const pending = await createPendingDevice(gateway);
        const result = await cli.run(['devices', 'reject', pending.requestId]);
        expectOk(result, describeRun(result));
        expect(result.stdout).toContain(`Rejected ${pending.device.deviceId}`);

        const list = await cli.json(['devices', 'list']);
        expect(list.pending.some((p: any) => p.requestId === pending.requestId)).toBe(false);
        expect(list.paired.some((p: any) => p.deviceId === pending.device.deviceId)).toBe(false);

        const again = await connectGateway({
          port: gateway.port,
          token: gateway.token,
          device: pending.device,
          scopes: ['operator.read'],
          headers: REMOTE_PEER_HEADERS,
        });
        expect(again.ok).toBe(false);
        expect(again.error?.details?.code).toBe('PAIRING_REQUIRED');
        expect(again.error?.details?.requestId).not.toBe(pending.requestId);
      });

      it('devices remove <deviceId> unpairs a paired device; an unknown id fails with exit 1', async () => {
        const pending = await createPendingDevice(gateway);
        const approve = await cli.run(['devices', 'approve', pending.requestId]);
        expectOk(approve, describeRun(approve));

        const result = await cli.run(['devices', 'remove', pending.device.deviceId]);
        expectOk(result, describeRun(result));
        expect(result.stdout).toContain(`Removed ${pending.device.deviceId}`);

        const list = await cli.json(['devices', 'list']);
        expect(list.paired.some((p: any) => p.deviceId === pending.device.deviceId)).toBe(false);

        const back = await connectGateway({
          port: gateway.port,
          token: gateway.token,
          device: pending.device,
          scopes: ['operator.read'],
          headers: REMOTE_PEER_HEADERS,
        });
        expect(back.ok).toBe(false);
        expect(back.error?.details?.code).toBe('PAIRING_REQUIRED');

        const unknown = await cli.run(['devices', 'remove', 'f'.repeat(64)]);
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain('[openclaw] The CLI command failed.');
        expect(unknown.stderr).toMatch(/Reason: .*(unknown|not found|no such)/i);
      });
    });

    if (authMode === 'none') {
      it('a CLI that made itself a device identity is paired silently and then uses its device token', async () => {
        const owner = cliUser(gateway);
        // `approvals get --gateway` is one of the commands that creates a device identity under auth none.
        const approvals = await owner.run(['approvals', 'get', '--gateway']);
        expectOk(approvals, describeRun(approvals));
        expect(approvals.stdout).toMatch(/Target\s+│\s+gateway/);
        const list = await owner.json(['devices', 'list']);
        const mine = list.paired.filter((p: any) => p.clientId === 'cli' && p.clientMode === 'cli');
        expect(mine.length).toBeGreaterThanOrEqual(1);
        const probe = await owner.run(['gateway', 'probe']);
        expectOk(probe, describeRun(probe));
        expect(probe.stdout).toContain('Read probe: ok');
        expect(owner.egressAttempts()).toEqual([]);
      });
    }

    it('the CLI never tried to reach anything beyond loopback', () => {
      expect(cli.egressAttempts()).toEqual([]);
    });

    if (target === 'clawdesk') {
      it('Clawdesk itself never tried to reach anything beyond loopback', () => {
        expect(readEgressAttempts(gateway.egressLog)).toEqual([]);
      });
    }
  });
}

defineSuite('token');
defineSuite('none');

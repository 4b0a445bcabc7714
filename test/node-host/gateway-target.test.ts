import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../gateway/cli/cli-io';
import { approvalsCommand } from '../../gateway/cli/commands/approvals-command';
import { devicesCommand } from '../../gateway/cli/commands/devices-command';
import { nodeCommand } from '../../gateway/cli/commands/node-command';
import { assertTargetTransport, resolveGatewayTarget } from '../../gateway/node-host/gateway-target';
import { captureIo } from '../helpers/cli-io';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-target-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
const env = { HOME: stateDir } as NodeJS.ProcessEnv;

describe('an explicit gateway URL meets the transport rule (docs/remote-gateways.md § Transport security)', () => {
  /** What node run and approvals do: resolve the target, then hold it to the rule. */
  const checked = async (flags: Parameters<typeof resolveGatewayTarget>[0], environment = env) => {
    const target = await resolveGatewayTarget({ 'state-dir': stateDir, ...flags }, environment);
    assertTargetTransport(target, flags, environment);
    return target.url;
  };

  it('plaintext ws:// leaves this machine only on a private network and only when the person opts in', async () => {
    await expect(checked({ url: 'ws://192.168.1.5:18789' })).rejects.toThrow(
      /refusing plaintext ws:\/\/ to 192\.168\.1\.5:18789.*--allow-insecure-private-ws/,
    );
    await expect(checked({ url: 'ws://203.0.113.7:18789', 'allow-insecure-private-ws': true })).rejects.toThrow(
      /A public address is never allowed over plaintext/,
    );
    // The URL from the environment is held to the same rule.
    await expect(checked({}, { ...env, OPENCLAW_GATEWAY_URL: 'ws://10.0.0.9:18789' })).rejects.toThrow(
      /refusing plaintext/,
    );
    expect(await checked({ url: 'ws://192.168.1.5:18789', 'allow-insecure-private-ws': true })).toBe(
      'ws://192.168.1.5:18789',
    );
    expect(await checked({ url: 'ws://192.168.1.5:18789' }, { ...env, OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: '1' })).toBe(
      'ws://192.168.1.5:18789',
    );
    for (const url of ['ws://127.0.0.1:18789', 'ws://[::1]:18789', 'wss://gateway.example:443'])
      expect(await checked({ url })).toBe(url);
    expect(await checked({})).toBe('ws://127.0.0.1:18789');
    await expect(checked({ url: 'ws://user:pw@127.0.0.1:1' })).rejects.toThrow(/must not carry credentials/);
    // Names that only look like loopback are other machines.
    for (const url of ['ws://127.0.0.1.nip.io:18789', 'ws://localhost.evil.example:18789', 'ws://[::ffff:10.0.0.1]:1'])
      await expect(checked({ url }), url).rejects.toThrow(/refusing plaintext/);
  });

  it('resolving alone still reads any URL: the desktop app takes only its port and serves on loopback', async () => {
    const target = await resolveGatewayTarget(
      { 'state-dir': stateDir },
      { ...env, OPENCLAW_GATEWAY_URL: 'ws://10.0.0.9:18800' },
    );
    expect(new URL(target.url).port).toBe('18800');
  });

  it('node run, approvals and devices refuse it as a usage error before anything connects', async () => {
    for (const [command, argv] of [
      [nodeCommand, ['run', '--url', 'ws://192.168.1.5:18789', '--token', 't', '--state-dir', stateDir]],
      [approvalsCommand, ['pending', '--url', 'ws://192.168.1.5:18789', '--token', 't', '--state-dir', stateDir]],
      [devicesCommand, ['list', '--url', 'ws://192.168.1.5:18789', '--token', 't']],
    ] as const) {
      const io = captureIo({ HOME: stateDir });
      const error = await command([...argv], io).catch((e: unknown) => e);
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(/refusing plaintext ws:\/\/ to 192\.168\.1\.5:18789/);
      expect(io.out + io.err).toBe('');
    }
  });
});

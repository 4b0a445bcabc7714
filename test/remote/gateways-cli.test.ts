import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../gateway/cli/main';
import { createGatewaysCommand } from '../../gateway/cli/commands/gateways-command';
import { gatewaySecretName, SAVED_GATEWAYS_FILE } from '../../gateway/remote/saved-gateways';
import { openSecretStore } from '../../gateway/secrets/secret-store';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import { captureIo } from '../helpers/cli-io';
import { gatewaysCli } from './helpers/gateways-cli';
import {
  disposeCertificate,
  makeSelfSignedCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from './helpers/tls';

let root: string;
let stateDir: string;
let dataDir: string;
const keys = ['--allow-plaintext-keys'];

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-gateways-'));
  stateDir = path.join(root, 'state');
  dataDir = path.join(stateDir, 'clawdesk');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const env = () => ({ OPENCLAW_STATE_DIR: stateDir, HOME: root });
const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => gatewaysCli(args, { ...env(), ...extraEnv });
const listJson = async () => JSON.parse((await cli(['list', '--json'])).out);
const fileText = () => readFileSync(path.join(dataDir, SAVED_GATEWAYS_FILE), 'utf8');
const FP = 'ab'.repeat(32);

describe('clawdesk gateways add | list | use | remove', () => {
  it('is a command of the clawdesk CLI', async () => {
    const io = captureIo();
    await runCli(['--help'], io);
    expect(io.out).toMatch(/^ {2}gateways {8}Gateways on other machines/m);
  });

  it('keeps the token in the vault, never in gateways.json, and makes the first gateway the primary', async () => {
    const added = await cli([
      'add',
      'home',
      'wss://10.1.2.3:18789',
      '--token',
      'tok-SECRET-1',
      '--tls-fingerprint',
      FP,
      ...keys,
      '--json',
    ]);
    expect(added.code, added.err).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ name: 'home', primary: true, tlsFingerprint: FP, auth: 'token' });
    expect(fileText()).not.toContain('tok-SECRET-1');
    expect(statSync(path.join(dataDir, SAVED_GATEWAYS_FILE)).mode & 0o777).toBe(0o600);
    const vault = await openSecretStore({ dir: dataDir, allowPlaintextFallback: true });
    expect(await vault.get(gatewaySecretName('home', 'token'))).toBe('tok-SECRET-1');
    expect(readFileSync(vault.vaultPath, 'utf8')).not.toContain('tok-SECRET-1');
    const list = await listJson();
    expect(list.primary).toBe('home');
    expect(JSON.stringify(list)).not.toContain('tok-SECRET-1');
  });

  it('saves an SSH gateway with the strict host-key policy by default', async () => {
    expect((await cli(['add', 'vps', '--ssh', 'me@gw.example:2222', '--auth', 'none'])).code).toBe(0);
    const [vps] = (await listJson()).gateways;
    expect(vps).toMatchObject({
      transport: 'ssh',
      sshTarget: 'me@gw.example:2222',
      remotePort: 18789,
      sshHostKeyPolicy: 'strict',
    });
  });

  it('use switches the primary; the primary cannot be removed while others remain; remove drops the secret', async () => {
    await cli(['add', 'a', 'wss://10.0.0.1:1', '--tls-fingerprint', FP, '--password', 'pw-A', ...keys]);
    await cli(['add', 'b', 'wss://10.0.0.2:1', '--tls-fingerprint', FP, '--token', 'tok-B', ...keys]);
    expect((await listJson()).primary).toBe('a');
    const before = fileText();
    const refused = await cli(['remove', 'a', ...keys]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /"a" is the primary gateway; make another one primary first \(clawdesk gateways use b\)/,
    );
    expect(fileText()).toBe(before);
    expect((await cli(['use', 'B'])).code).toBe(0);
    expect((await listJson()).primary).toBe('b');
    expect((await cli(['remove', 'a', ...keys])).code).toBe(0);
    const vault = await openSecretStore({ dir: dataDir, allowPlaintextFallback: true });
    expect(await vault.get(gatewaySecretName('a', 'password'))).toBeNull();
    expect(await vault.get(gatewaySecretName('b', 'token'))).toBe('tok-B');
    expect((await listJson()).gateways.map((g: any) => g.name)).toEqual(['b']);
  });

  it('bad input gets a clear error and changes nothing', async () => {
    await cli(['add', 'home', 'wss://10.1.2.3:18789', '--token', 'first', '--tls-fingerprint', FP, ...keys]);
    const before = fileText();
    const cases: Array<[string[], RegExp]> = [
      [
        ['add', 'HOME', 'wss://10.9.9.9:1', '--token', 'second', '--tls-fingerprint', FP, ...keys],
        /a gateway named "HOME" already exists/,
      ],
      [['add', 'x', 'https://10.0.0.1', '--token', 't', ...keys], /must start with wss:\/\/ or ws:\/\//],
      [['add', 'x', 'wss://', '--token', 't', ...keys], /not a URL|names no host/],
      [
        ['add', 'bad name', 'wss://10.0.0.1:1', '--token', 't', '--tls-fingerprint', FP, ...keys],
        /invalid gateway name/,
      ],
      [
        ['add', 'x', 'wss://10.0.0.1:1', '--token', 't', '--tls-fingerprint', 'abc', ...keys],
        /invalid TLS fingerprint/,
      ],
      [['add', 'x', 'ws://10.0.0.7:18789', '--token', 't', ...keys], /refusing plaintext ws:\/\/ to 10\.0\.0\.7:18789/],
      [
        ['add', 'x', 'ws://8.8.8.8:1', '--token', 't', '--allow-insecure-private-ws', ...keys],
        /public address is never allowed/,
      ],
      [['add', 'x', '--ssh=-oProxyCommand=sh', '--auth', 'none'], /invalid SSH target/],
      [['add', 'x', 'wss://10.0.0.1:1', '--ssh', 'me@h', '--auth', 'none'], /either a wss:\/\/ URL or an SSH target/],
      [['add', 'openclaw-config', '--ssh', 'me@h', '--auth', 'none'], /names the gateway openclaw.json configures/],
      [['use', 'nope'], /no saved gateway named "nope" \(saved: home\)/],
      [['remove', 'nope', ...keys], /no saved gateway named "nope"/],
      [['runner', 'nope', 'on'], /no saved gateway named "nope"/],
      [['pin', 'home', '--tls-fingerprint', 'zz'], /invalid TLS fingerprint/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.err, args.join(' ')).toMatch(message);
      expect(fileText(), args.join(' ')).toBe(before);
    }
    // The duplicate did not overwrite the first gateway's secret either.
    const vault = await openSecretStore({ dir: dataDir, allowPlaintextFallback: true });
    expect(await vault.get(gatewaySecretName('home', 'token'))).toBe('first');
    // A missing secret is a usage error (exit 2), also before anything is written.
    expect((await cli(['add', 'y', 'wss://10.0.0.1:1', '--tls-fingerprint', FP])).code).toBe(2);
    expect(fileText()).toBe(before);
  });

  it("a private ws:// host is accepted with the opt-in flag or OpenClaw's switch", async () => {
    expect(
      (await cli(['add', 'lan', 'ws://10.0.0.7:18789', '--auth', 'none', '--allow-insecure-private-ws'])).code,
    ).toBe(0);
    expect(
      (
        await cli(['add', 'lan2', 'ws://192.168.1.9:18789', '--auth', 'none'], {
          OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: '1',
        })
      ).code,
    ).toBe(0);
    expect((await listJson()).gateways.map((g: any) => g.name)).toEqual(['lan', 'lan2']);
  });

  it('a damaged gateways.json is moved aside and reported, never silently emptied', async () => {
    await cli(['add', 'home', 'wss://10.1.2.3:18789', '--auth', 'none', '--tls-fingerprint', FP]);
    writeFileSync(path.join(dataDir, SAVED_GATEWAYS_FILE), '{"version":1,"gateways":[{"name":');
    const result = await cli(['add', 'other', 'wss://10.1.2.4:1', '--auth', 'none', '--tls-fingerprint', FP]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /not valid JSON.*; it was moved to .*gateways\.json\.corrupt-.* and nothing was changed/,
    );
  });
});

describe('openclaw.json\'s gateway.mode "remote"', () => {
  const writeConfig = (gateway: unknown) => {
    writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify({ gateway }));
  };

  it("is listed (read-only) with OpenClaw's credential precedence and is not editable from Clawdesk", async () => {
    await cli(['list']); // creates nothing, but the state dir must exist for the config
    rmSync(stateDir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir, { recursive: true });
    writeConfig({
      mode: 'remote',
      auth: { token: 'local-token' },
      remote: {
        url: 'wss://gw.example:18789',
        transport: 'direct',
        token: 'remote-token',
        tlsFingerprint: formatColons(FP),
      },
    });
    const list = await listJson();
    expect(list.gateways).toEqual([
      expect.objectContaining({
        name: 'openclaw-config',
        source: 'openclaw.json',
        url: 'wss://gw.example:18789',
        tlsFingerprint: FP,
        auth: 'token',
        primary: true,
      }),
    ]);
    expect(JSON.stringify(list)).not.toContain('remote-token');
    const removed = await cli(['remove', 'openclaw-config']);
    expect(removed.code).toBe(1);
    expect(removed.err).toMatch(/openclaw\.json's gateway\.remote block; change it in .*openclaw\.json/);
  });

  it("an SSH transport with sshTarget becomes a tunnel whose local end is remote.url's port", async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir, { recursive: true });
    writeConfig({
      mode: 'remote',
      remote: { url: 'ws://127.0.0.1:28789', sshTarget: 'me@gw.example', remotePort: 18789 },
    });
    const [entry] = (await listJson()).gateways;
    expect(entry).toMatchObject({
      transport: 'ssh',
      sshTarget: 'me@gw.example',
      localPort: 28789,
      remotePort: 18789,
      sshHostKeyPolicy: 'strict',
      auth: 'none',
    });
  });

  it('mode "remote" without a URL falls back to local with OpenClaw\'s warning', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir, { recursive: true });
    writeConfig({ mode: 'remote', remote: {} });
    const list = await listJson();
    expect(list.gateways).toEqual([]);
    expect(list.warnings[0]).toMatch(/gateway\.remote\.url is missing/);
  });
});

function formatColons(hex: string) {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

describe('trust on first use: only after the person confirms the certificate', () => {
  let gateway: TestGateway;
  let cert: TestCertificate;
  let front: TlsFront;
  let url: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    cert = makeSelfSignedCertificate();
    front = await startTlsFront(cert, gateway.port);
    url = `wss://127.0.0.1:${front.port}`;
  });
  afterAll(async () => {
    await front?.close();
    await gateway?.dispose();
    disposeCertificate(cert);
  });

  const add = async (answer: boolean | undefined, args: string[] = []) => {
    const questions: string[] = [];
    const command = createGatewaysCommand({
      confirm: async (question) => {
        questions.push(question);
        return answer;
      },
    });
    const io = captureIo(env());
    const code = await command(['add', 'tofu', url, '--auth', 'none', ...args], io);
    return { code, out: io.out, err: io.err, questions };
  };

  it('shows the fingerprint, asks, and pins what the server presented when the person says yes', async () => {
    const result = await add(true);
    expect(result.code, result.err).toBe(0);
    expect(result.questions).toEqual(['Pin it for "tofu"?']);
    expect(result.out).toContain(formatColons(cert.fingerprint));
    expect((await listJson()).gateways[0]).toMatchObject({ name: 'tofu', tlsFingerprint: cert.fingerprint });
  });

  it('saves nothing when the person says no', async () => {
    const result = await add(false);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/not pinned; nothing was saved/);
    expect((await listJson()).gateways).toEqual([]);
  });

  it('without anyone to ask (no terminal, or --json) it pins nothing and prints the fingerprint to pass', async () => {
    for (const [answer, args] of [
      [undefined, []],
      [true, ['--json']],
    ] as const) {
      const result = await add(answer, [...args]);
      expect(result.code).toBe(1);
      expect(result.err).toContain(`--tls-fingerprint ${cert.fingerprint}`);
      expect((await listJson()).gateways).toEqual([]);
    }
  });

  it('pin replaces a pin only on an explicit fingerprint or a yes', async () => {
    await cli(['add', 'tofu', url, '--auth', 'none', '--tls-fingerprint', FP]);
    const command = createGatewaysCommand({ confirm: async () => true });
    const io = captureIo(env());
    expect(await command(['pin', 'tofu'], io)).toBe(0);
    expect((await listJson()).gateways[0].tlsFingerprint).toBe(cert.fingerprint);
  });
});

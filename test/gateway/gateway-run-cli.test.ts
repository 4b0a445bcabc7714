import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import { pinnedCertificateVerifier } from '../../gateway/remote/tls-pin';
import { freePort } from '../helpers/free-port';
import { commandPayload } from '../helpers/node-payload';

// These run the built CLI (`npm test` builds first), as a person or a service manager would.
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'clawdesk.js');

interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: Record<string, string>): RunningCli {
  // A clean environment: no keychain session bus, no stray OpenClaw variables from the developer's shell.
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitForOutput(cli: RunningCli, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = cli.stdout().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${cli.stdout()}\n${cli.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempStateDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-cli-'));
  dirs.push(dir);
  return dir;
}

describe('clawdesk gateway run', () => {
  it('serves, attaches its own runner without a prompt, and stops cleanly on SIGTERM (clients get 1012)', async () => {
    const stateDir = tempStateDir();
    const port = await freePort();
    const cli = runCli(['gateway', 'run', '--port', String(port), '--auth', 'token', '--token', 'run-token'], {
      OPENCLAW_STATE_DIR: stateDir,
    });
    children.push(cli.child);
    await waitForOutput(cli, /Exec runner: connected/);
    expect(cli.stdout()).toContain(`Clawdesk gateway listening on ws://127.0.0.1:${port}`);
    expect(cli.stdout()).toContain(`State dir: ${stateDir}`);
    expect(cli.stdout()).toMatch(/Device identity: [0-9a-f]{16}… \(in memory for this run\)/);

    const operator = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: 'run-token',
      scopes: ['operator.admin'],
    });
    const { nodes } = await operator.request('node.list', {});
    const runner = nodes.find((n: any) => n.connected);
    expect(runner?.commands).toEqual(expect.arrayContaining(['system.run', 'system.which']));
    const which = await operator.request('node.invoke', {
      nodeId: runner?.nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: 'which-1',
    });
    expect(commandPayload(which).bins.sh).toMatch(/\/sh$/);

    const closed = new Promise<number>((resolve) => operator.once('close', (code: number) => resolve(code)));
    cli.child.kill('SIGTERM');
    expect(await closed).toBe(1012);
    expect(await cli.exited).toBe(0);
  });

  it('--approval-timeout takes whole seconds from 1 to 3600 and says so otherwise', async () => {
    for (const bad of ['0', '1.5', '3601', 'soon']) {
      const cli = runCli(['gateway', 'run', '--auth', 'none', '--approval-timeout', bad], {
        OPENCLAW_STATE_DIR: tempStateDir(),
      });
      expect(await cli.exited).toBe(2);
      expect(cli.stderr()).toContain(`--approval-timeout must be whole seconds from 1 to 3600, not "${bad}"`);
    }
  });

  it('--always-prompt-pairing asks before pairing any other device, but never blocks its own runner', async () => {
    const stateDir = tempStateDir();
    const port = await freePort();
    const cli = runCli(
      ['gateway', 'run', '--port', String(port), '--auth', 'token', '--token', 't', '--always-prompt-pairing'],
      { OPENCLAW_STATE_DIR: stateDir },
    );
    children.push(cli.child);
    await waitForOutput(cli, /Exec runner: connected/);
    const { createEphemeralDeviceSigner } = await import('../../gateway/protocol/device-auth');
    const { connectError } = await import('../helpers/gateway-fixture');
    const refused = await connectError({
      url: `ws://127.0.0.1:${port}`,
      token: 't',
      scopes: ['operator.read'],
      device: createEphemeralDeviceSigner(),
    });
    expect(refused.error!.details).toMatchObject({ code: 'PAIRING_REQUIRED', reason: 'not-paired' });
    const operator = await connectGateway({ url: `ws://127.0.0.1:${port}`, token: 't', scopes: ['operator.admin'] });
    const { nodes } = await operator.request('node.list', {});
    expect(nodes.filter((n: any) => n.connected)).toHaveLength(1);
    await operator.close();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it("a restart with an in-memory identity clears the previous run's device record", async () => {
    const stateDir = tempStateDir();
    const port = await freePort();
    const pairedCount = () =>
      Object.keys(JSON.parse(readFileSync(path.join(stateDir, 'devices', 'paired.json'), 'utf8'))).length;
    for (let run = 0; run < 2; run++) {
      const cli = runCli(['gateway', 'run', '--port', String(port), '--auth', 'token', '--token', 't'], {
        OPENCLAW_STATE_DIR: stateDir,
      });
      children.push(cli.child);
      await waitForOutput(cli, /Exec runner: connected/);
      // Settled state: exactly this run's device (the previous run's record is gone).
      await expect.poll(pairedCount, { timeout: 3000 }).toBe(1);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    }
  });

  it('first run with nothing configured creates openclaw.json with a fresh token (0600)', async () => {
    const stateDir = tempStateDir();
    const port = await freePort();
    const cli = runCli(['gateway', 'run', '--port', String(port), '--no-node'], { OPENCLAW_STATE_DIR: stateDir });
    children.push(cli.child);
    await waitForOutput(cli, /Exec runner: disabled/);
    const configPath = path.join(stateDir, 'openclaw.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(config.gateway.auth).toEqual({ mode: 'token', token: expect.stringMatching(/^[0-9a-f]{48}$/) });
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    expect(cli.stdout()).toContain(`generated, saved to ${configPath}`);
    const session = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: config.gateway.auth.token,
      scopes: ['operator.read'],
    });
    await session.close();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('refuses to listen beyond loopback without authentication', async () => {
    const cli = runCli(['gateway', 'run', '--bind', 'lan', '--tls', '--auth', 'none', '--no-node'], {
      OPENCLAW_STATE_DIR: tempStateDir(),
    });
    children.push(cli.child);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/--bind lan requires --auth token or --auth password/);
  });

  it('refuses to listen beyond loopback without TLS, naming the fix, and creates nothing', async () => {
    const stateDir = tempStateDir();
    const cli = runCli(['gateway', 'run', '--bind', 'lan', '--token', 't', '--no-node'], {
      OPENCLAW_STATE_DIR: stateDir,
    });
    children.push(cli.child);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(
      /--bind lan requires TLS: add --tls .*--tls-cert FILE --tls-key FILE.*gateway\.tls\.enabled/,
    );
    expect(cli.stdout()).not.toContain('listening');
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('--tls: serves wss:// with a certificate generated once, prints its fingerprint, and its own runner pins it', async () => {
    const stateDir = tempStateDir();
    const port = await freePort();
    const certPath = path.join(stateDir, 'gateway', 'tls', 'gateway-cert.pem');
    const start = async (args: string[]) => {
      const cli = runCli(['gateway', 'run', '--port', String(port), '--token', 'tls-token', ...args], {
        OPENCLAW_STATE_DIR: stateDir,
      });
      children.push(cli.child);
      await waitForOutput(cli, /Exec runner: connected/, 60_000);
      return cli;
    };
    const cli = await start(['--tls']);
    expect(cli.stdout()).toContain(`Clawdesk gateway listening on wss://127.0.0.1:${port}`);
    const fingerprint = new X509Certificate(readFileSync(certPath)).fingerprint256;
    const hex = fingerprint.replaceAll(':', '').toLowerCase();
    // The form `openssl x509 -noout -fingerprint -sha256` prints, and the one `clawdesk gateways add` takes.
    expect(cli.stdout()).toContain(`TLS fingerprint (SHA-256): ${fingerprint}\n`);
    expect(cli.stdout()).toContain(`--tls-fingerprint ${hex}\n`);
    expect(cli.stdout()).toContain(`TLS certificate: ${certPath} (generated now`);
    expect(statSync(path.join(stateDir, 'gateway', 'tls', 'gateway-key.pem')).mode & 0o777).toBe(0o600);

    const operator = await connectGateway({
      url: `wss://127.0.0.1:${port}`,
      token: 'tls-token',
      scopes: ['operator.admin'],
      verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', hex),
    });
    const { nodes } = await operator.request('node.list', {});
    expect(nodes.some((n: any) => n.connected)).toBe(true);
    await operator.close();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);

    // Started again from openclaw.json's gateway.tls (as OpenClaw reads it): the same certificate, and a client
    // on this machine (`clawdesk devices`) finds the wss:// URL and the pin by itself.
    writeFileSync(
      path.join(stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { port, auth: { mode: 'token', token: 'tls-token' }, tls: { enabled: true } } }),
    );
    const again = await start([]);
    expect(again.stdout()).toContain(`TLS fingerprint (SHA-256): ${fingerprint}\n`);
    expect(again.stdout()).not.toContain('generated now');
    const devices = runCli(['devices', 'list', '--json'], { OPENCLAW_STATE_DIR: stateDir });
    expect(await devices.exited, devices.stderr()).toBe(0);
    // (The state-dir fallback is taken only when nothing listens: exit 0 here means it spoke wss:// to the gateway.)
    expect(JSON.parse(devices.stdout()).paired.length).toBeGreaterThan(0);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('a mismatched --tls-cert/--tls-key pair is a clear failure before listening', async () => {
    const dir = tempStateDir();
    const made = (name: string) => {
      execFileSync(
        'openssl',
        // prettier-ignore
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
          '-subj', `/CN=${name}`, '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`)],
        { stdio: 'ignore' },
      );
    };
    made('a');
    made('b');
    const cli = runCli(
      ['gateway', 'run', '--tls-cert', path.join(dir, 'a.crt'), '--tls-key', path.join(dir, 'b.key'), '--no-node'],
      { OPENCLAW_STATE_DIR: tempStateDir() },
    );
    children.push(cli.child);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/clawdesk gateway: TLS: the key .*b\.key does not belong to the certificate .*a\.crt/);
    expect(cli.stdout()).not.toContain('listening');
  });

  it('a bad flag is a usage error (exit 2), and a port in use is a clear failure', async () => {
    const bad = runCli(['gateway', 'run', '--prot', '1'], { OPENCLAW_STATE_DIR: tempStateDir() });
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/Unknown option '--prot'/);

    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    const busy = runCli(['gateway', 'run', '--port', String(port), '--auth', 'token', '--token', 't', '--no-node'], {
      OPENCLAW_STATE_DIR: tempStateDir(),
    });
    expect(await busy.exited).toBe(1);
    expect(busy.stderr()).toContain(`port ${port} is already in use`);
    blocker.close();
  });
});

describe('clawdesk gateway run after an interrupted migration', () => {
  it('finishes or rolls back a migration that was killed halfway before serving, with no manual step', async () => {
    const { bundleScript, runChild, lastJsonLine } = await import('../helpers/child-process');
    const { findInterruptedMigrations } = await import('../../gateway/state/state-migration');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const root = tempStateDir();
    const home = path.join(root, 'home');
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    for (const dir of [path.join(from, 'devices'), path.join(to, 'devices')]) mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const paired = (id: string) => ({
      [id]: {
        deviceId: id,
        publicKey: `pk-${id}`,
        role: 'operator',
        roles: ['operator'],
        scopes: ['operator.read'],
        tokens: { operator: { token: `t-${id}`, role: 'operator', scopes: ['operator.read'], createdAtMs: now } },
        createdAtMs: now,
        approvedAtMs: now,
      },
    });
    writeFileSync(path.join(from, 'devices', 'paired.json'), JSON.stringify(paired('a'.repeat(64))));
    writeFileSync(path.join(to, 'devices', 'paired.json'), JSON.stringify(paired('b'.repeat(64))));
    const script = bundleScript(path.join(__dirname, '..', 'state', 'fixtures', 'migrate-child.ts'));
    const request = (killAt?: { step: string; occurrence: number }) =>
      JSON.stringify({
        mode: 'migrate',
        from,
        to,
        home,
        backupRoot: path.join(root, 'backups'),
        ...(killAt ? { killAt } : {}),
      });

    // Learn the step names from a dry copy, then kill the real migration at its middle commit step.
    const probeRoot = path.join(root, 'probe');
    const { cpSync } = await import('node:fs');
    cpSync(home, path.join(probeRoot, 'home'), { recursive: true });
    const probe = await runChild(process.execPath, [
      script,
      JSON.stringify({
        mode: 'migrate',
        from: path.join(probeRoot, 'home', '.clawdbot'),
        to: path.join(probeRoot, 'home', '.openclaw'),
        home: path.join(probeRoot, 'home'),
        backupRoot: path.join(probeRoot, 'backups'),
      }),
    ]);
    expect(lastJsonLine(probe.stdout).outcome).toBe('migrated');
    const steps = probe.stdout
      .split('\n')
      .filter((l) => l.startsWith('step '))
      .map((l) => l.slice(5));
    const killed = await runChild(process.execPath, [
      script,
      request({ step: steps[Math.floor(steps.length / 2)], occurrence: 1 }),
    ]);
    expect(killed.signal).toBe('SIGKILL');
    expect(await findInterruptedMigrations([to, from])).not.toEqual([]);

    const port = await freePort();
    const cli = runCli(['gateway', 'run', '--port', String(port), '--auth', 'token', '--token', 't', '--no-node'], {
      OPENCLAW_STATE_DIR: to,
      HOME: home,
    });
    children.push(cli.child);
    await waitForOutput(cli, /Clawdesk gateway listening/);
    expect(cli.stdout()).toMatch(/Recovered an interrupted state migration/);
    expect(await findInterruptedMigrations([to, from])).toEqual([]);
    const pairedNow = JSON.parse(readFileSync(path.join(to, 'devices', 'paired.json'), 'utf8'));
    // Wholly old (only b) or wholly new (a and b): never a mix, never nothing.
    expect([['b'.repeat(64)], ['a'.repeat(64), 'b'.repeat(64)]]).toContainEqual(Object.keys(pairedNow).sort());
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

describe('gateway run extensions (in process)', () => {
  it('the runner and the terminal approval client share one identity and both connect, node first', async () => {
    const { createGatewayRunExtensions } = await import('../../gateway/node-host/gateway-run-extensions');
    const { startGatewayServer } = await import('../../gateway/server/gateway-server');
    const stateDir = tempStateDir();
    const ext = createGatewayRunExtensions({ isTTY: () => true });
    const gateway = await startGatewayServer({
      stateDir,
      port: 0,
      auth: { mode: 'token', token: 't' },
      modules: await ext.modules!({ stateDir }),
    });
    const out: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(t),
      env: {},
      waitForStopSignal: () => new Promise<NodeJS.Signals>(() => undefined),
    };
    const stop = await ext.startNode!({ url: gateway.url, stateDir, token: 't', io, gateway });
    try {
      await expect
        .poll(
          () =>
            [...gateway.gatewayHost.connections()].map((c) => `${c.role}:${c.caps.includes('exec-approvals')}`).sort(),
          { timeout: 5000 },
        )
        .toEqual(['node:false', 'operator:true']);
      const ids = new Set([...gateway.gatewayHost.connections()].map((c) => c.deviceId));
      expect(ids.size).toBe(1);
      expect(out.join('')).toContain('Exec approvals: prompting on this terminal');
    } finally {
      await stop();
      await gateway.close();
    }
  });
});

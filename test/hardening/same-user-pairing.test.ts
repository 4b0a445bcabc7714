import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressBytes,
  addressPeerKey,
  createPeerIdentifier,
  createSameUserCheck,
  findPeerUid,
  parseProcNetTcp,
  PeerUidResolver,
} from '../../gateway/server/peer-user';
import { bundleScript, lastJsonLine, runChild, startTestGateway, TOKEN, type TestGateway } from './helpers/harness';

const OTHER_USER = 'clawdesk-other';
const CLIENT = path.join(__dirname, 'fixtures', 'pairing-client.ts');

// A capture of this machine's tables: the gateway on 127.0.0.1:18789 (0x4965), a root client from
// port 0xA1B2 and a uid-1001 client from ::ffff:127.0.0.1 port 0xA1B3, plus a TIME_WAIT row (uid 0).
const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
  '   1: 0100007F:A1B2 0100007F:4965 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1',
  '   2: 0100007F:4965 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1',
  '   3: 0100007F:A1B4 0100007F:4965 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0',
  'garbage line',
].join('\n');
const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0000000000000000FFFF00000100007F:A1B3 0000000000000000FFFF00000100007F:4965 01 00000000:00000000 00:00000000 00000000  1001        0 4 1 0 20 4 30 10 -1',
  '   1: 00000000000000000000000001000000:A1B5 00000000000000000000000001000000:4965 01 00000000:00000000 00:00000000 00000000  1002        0 5 1 0 20 4 30 10 -1',
].join('\n');

describe('peer socket → uid (/proc/net/tcp parsing)', () => {
  const tables = async () => [TCP, TCP6];

  it('parses IPv4, IPv4-mapped and IPv6 rows and skips garbage', () => {
    const rows = [...parseProcNetTcp(TCP, true), ...parseProcNetTcp(TCP6, true)];
    expect(rows).toHaveLength(6);
    expect(rows[1].localAddress.equals(addressBytes('127.0.0.1')!)).toBe(true);
    expect(rows[4].localAddress.equals(addressBytes('::ffff:127.0.0.1')!)).toBe(true);
    expect(rows[5].localAddress.equals(addressBytes('::1')!)).toBe(true);
    expect(rows[4].uid).toBe(1001);
  });

  it('finds the owner of the peer end, whichever table and address form it is in', async () => {
    expect(await findPeerUid({ remoteAddress: '127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 }, tables)).toBe(0);
    expect(
      await findPeerUid({ remoteAddress: '::ffff:127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 }, tables),
    ).toBe(0);
    expect(await findPeerUid({ remoteAddress: '127.0.0.1', remotePort: 0xa1b3, localPort: 0x4965 }, tables)).toBe(1001);
    expect(await findPeerUid({ remoteAddress: '::1', remotePort: 0xa1b5, localPort: 0x4965 }, tables)).toBe(1002);
  });

  it('does not trust TIME_WAIT rows (uid 0), unknown peers or non-IP addresses', async () => {
    expect(
      await findPeerUid({ remoteAddress: '127.0.0.1', remotePort: 0xa1b4, localPort: 0x4965 }, tables),
    ).toBeUndefined();
    expect(
      await findPeerUid({ remoteAddress: '127.0.0.1', remotePort: 0xbeef, localPort: 0x4965 }, tables),
    ).toBeUndefined();
    expect(
      await findPeerUid({ remoteAddress: 'localhost', remotePort: 0xa1b2, localPort: 0x4965 }, tables),
    ).toBeUndefined();
    expect(
      await findPeerUid({ remoteAddress: '127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 }, async () => []),
    ).toBeUndefined();
  });

  it('grants silent pairing only to the same uid on Linux, fails closed when unknown, and "always prompt" wins', async () => {
    const check = createSameUserCheck({ platform: 'linux', uid: 0, readTables: tables });
    expect(await check({ remoteAddress: '127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 })).toBe(true);
    expect(await check({ remoteAddress: '127.0.0.1', remotePort: 0xa1b3, localPort: 0x4965 })).toBe(false);
    expect(await check({ remoteAddress: '127.0.0.1', remotePort: 0xbeef, localPort: 0x4965 })).toBe(false);
    expect(
      await createSameUserCheck({ platform: 'linux', uid: 0, readTables: tables, alwaysPrompt: true })({
        remoteAddress: '127.0.0.1',
        remotePort: 0xa1b2,
        localPort: 0x4965,
      }),
    ).toBe(false);
    // Documented choice: no cheap owner lookup on macOS/Windows, which stay silent unless "always prompt".
    expect(
      await createSameUserCheck({ platform: 'darwin' })({ remoteAddress: '127.0.0.1', remotePort: 1, localPort: 2 }),
    ).toBe(true);
    expect(
      await createSameUserCheck({ platform: 'win32', alwaysPrompt: true })({
        remoteAddress: '127.0.0.1',
        remotePort: 1,
        localPort: 2,
      }),
    ).toBe(false);
  });
});

describe('peer identity for per-peer limits (issue 9 finding 14)', () => {
  it('one read of the tables answers a burst of lookups, with the same answers as findPeerUid', async () => {
    let reads = 0;
    const resolver = new PeerUidResolver(async () => {
      reads += 1;
      return [TCP, TCP6];
    });
    const peers = [
      { remoteAddress: '127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 },
      { remoteAddress: '::ffff:127.0.0.1', remotePort: 0xa1b3, localPort: 0x4965 },
      { remoteAddress: '::1', remotePort: 0xa1b5, localPort: 0x4965 },
      { remoteAddress: '127.0.0.1', remotePort: 0xa1b4, localPort: 0x4965 },
      { remoteAddress: 'localhost', remotePort: 0xa1b2, localPort: 0x4965 },
    ];
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => resolver.lookup(peers[i % peers.length])));
    expect(reads).toBe(1);
    expect(burst.slice(0, 5)).toEqual([0, 1001, 1002, undefined, undefined]);
    // A lookup after the read gets a fresh read (its socket may be newer than the last snapshot).
    expect(await resolver.lookup(peers[0])).toBe(0);
    expect(reads).toBe(2);
    // An unreadable table is "unknown", never an error.
    expect(await new PeerUidResolver(async () => Promise.reject(new Error('EACCES'))).lookup(peers[0])).toBeUndefined();
  });

  it('keys a peer by OS user on Linux, marks the owner, and falls back to the address (all of loopback as one)', async () => {
    const resolver = new PeerUidResolver(async () => [TCP, TCP6]);
    const identify = createPeerIdentifier({ platform: 'linux', uid: 1001, resolver });
    expect(await identify({ remoteAddress: '::ffff:127.0.0.1', remotePort: 0xa1b3, localPort: 0x4965 })).toEqual({
      key: 'uid:1001',
      uid: 1001,
      owner: true,
    });
    expect(await identify({ remoteAddress: '127.0.0.1', remotePort: 0xa1b2, localPort: 0x4965 })).toEqual({
      key: 'uid:0',
      uid: 0,
      owner: false,
    });
    expect(await identify({ remoteAddress: '127.0.0.1', remotePort: 0xbeef, localPort: 0x4965 })).toEqual({
      key: 'addr:loopback',
      owner: false,
    });
    expect(
      await createPeerIdentifier({ platform: 'darwin', uid: 0, resolver })({
        remoteAddress: '127.0.0.1',
        remotePort: 0xa1b2,
        localPort: 0x4965,
      }),
    ).toEqual({ key: 'addr:loopback', owner: false });
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.9.9.9', '[::1]'])
      expect(addressPeerKey(address)).toBe('addr:loopback');
    expect(addressPeerKey('::ffff:10.0.0.7')).toBe('addr:10.0.0.7');
    expect(addressPeerKey('10.0.0.7')).toBe('addr:10.0.0.7');
    expect(addressPeerKey('FE80::1')).toBe('addr:fe80::1');
  });
});

const canSwitchUser = process.platform === 'linux' && process.getuid?.() === 0;

describe.runIf(canSwitchUser)('same-user check against a real second local user', () => {
  let uid = 0;
  let gid = 0;
  let script = '';
  const gateways: TestGateway[] = [];

  beforeAll(() => {
    try {
      execFileSync('id', ['-u', OTHER_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', OTHER_USER], { stdio: 'ignore' });
    }
    uid = Number(execFileSync('id', ['-u', OTHER_USER]).toString().trim());
    gid = Number(execFileSync('id', ['-g', OTHER_USER]).toString().trim());
    expect(uid).not.toBe(0);
    script = bundleScript(CLIENT);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.cleanup()));
  });

  const start = async (options: Parameters<typeof startTestGateway>[0]) => {
    const gateway = await startTestGateway(options);
    gateways.push(gateway);
    return gateway;
  };

  const asRoot = async (...args: string[]) =>
    lastJsonLine(
      (await runChild(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, HOME: '/tmp' } })).stdout,
    );
  const asOther = async (...args: string[]) => {
    const result = await runChild(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, script, ...args],
      { env: { PATH: process.env.PATH, HOME: '/tmp' } },
    );
    return lastJsonLine(
      result.stdout + (result.stdout ? '' : `\n${JSON.stringify({ ok: false, stderr: result.stderr })}`),
    );
  };

  it('auth none: the owner is paired silently, another local user is asked to pair', async () => {
    const gateway = await start({ auth: { mode: 'none' } });
    const owner = await asRoot(gateway.url, '-', 'device', 'operator.read');
    expect(owner).toMatchObject({ ok: true, uid: 0, deviceToken: true, health: true });
    expect(gateway.pairing.getPaired(owner.deviceId)).toBeDefined();

    const other = await asOther(gateway.url, '-', 'device', 'operator.read');
    expect(other).toMatchObject({
      ok: false,
      uid,
      code: 'NOT_PAIRED',
      detailCode: 'PAIRING_REQUIRED',
      closeCode: 1008,
      closeReason: 'pairing required',
    });
    expect(other.details.reason).toBe('not-paired');
    expect(gateway.pairing.getPaired(other.deviceId)).toBeUndefined();
    expect(gateway.pairing.getPending(other.details.requestId)?.deviceId).toBe(other.deviceId);
  });

  it('auth none: another local user gets no device-less owner session either', async () => {
    const gateway = await start({ auth: { mode: 'none' } });
    const owner = await asRoot(gateway.url, '-', 'nodevice', 'operator.admin');
    expect(owner).toMatchObject({ ok: true, health: true });
    expect(owner.scopes).toContain('operator.admin');
    const other = await asOther(gateway.url, '-', 'nodevice', 'operator.admin');
    expect(other).toMatchObject({
      ok: false,
      code: 'NOT_PAIRED',
      detailCode: 'DEVICE_IDENTITY_REQUIRED',
      closeCode: 1008,
    });
  });

  it('token auth: a token-holding other user with a device still gets a prompt, the owner does not', async () => {
    const gateway = await start({});
    expect(await asRoot(gateway.url, TOKEN, 'device', 'operator.read')).toMatchObject({ ok: true, deviceToken: true });
    expect(await asOther(gateway.url, TOKEN, 'device', 'operator.read')).toMatchObject({
      ok: false,
      detailCode: 'PAIRING_REQUIRED',
      closeCode: 1008,
    });
  });

  it('"always prompt" makes the owner pair explicitly too', async () => {
    const gateway = await start({ auth: { mode: 'none' }, alwaysPromptPairing: true });
    const owner = await asRoot(gateway.url, '-', 'device', 'operator.read');
    expect(owner).toMatchObject({ ok: false, detailCode: 'PAIRING_REQUIRED' });
    expect(await asRoot(gateway.url, '-', 'nodevice', 'operator.read')).toMatchObject({
      ok: false,
      detailCode: 'DEVICE_IDENTITY_REQUIRED',
    });
  });

  it('an explicit allowSilentLocalPairing hook replaces the default check', async () => {
    const gateway = await start({ auth: { mode: 'none' }, allowSilentLocalPairing: () => true });
    expect(await asOther(gateway.url, '-', 'device', 'operator.read')).toMatchObject({ ok: true });
  });
});

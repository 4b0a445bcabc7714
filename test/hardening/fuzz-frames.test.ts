import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { ERROR_CODES } from '../../gateway/protocol/frames';
import { CLI_DEFAULT_OPERATOR_SCOPES } from '../../gateway/protocol/scopes';
import { bundleScript, prng, RawClient, seedFromEnv, TOKEN, type RawFrame } from './helpers/harness';

/**
 * Seeded frame fuzzer (issue 6, item 1). Real frames from the captures in test/fixtures/frames are mutated (wrong types, missing
 * and extra fields, huge strings, deep nesting, lone surrogates, binary frames, invalid UTF-8, raw protocol
 * garbage, floods before connect, frames after close) and thrown at a gateway running in its own process.
 * Replay a failure with FUZZ_SEED=<seed>; FUZZ_CASES sets the case count.
 */

const SEED = seedFromEnv('FUZZ_SEED');
const TOTAL_CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const PERSISTENT_CONNECTIONS = 6;
const BATCH_PER_CONNECTION = 250;
const FRESH_PER_BATCH = 40;
const FRAMES_DIR = path.resolve(__dirname, '..', 'fixtures', 'frames');
const ERROR_CODE_SET = new Set<string>(ERROR_CODES);

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)];
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** The connect params the real CLI, node host and probe sent (test/fixtures/frames), with our shared token. */
function realConnectParams(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const file of ['node-connect.json', 'probe.json', 'device-pairing.json', 'devices-list.json']) {
    const capture = JSON.parse(readFileSync(path.join(FRAMES_DIR, file), 'utf8')) as Array<{ dir: string; frame: any }>;
    for (const entry of capture) {
      if (entry.dir === 'c2s' && entry.frame.method === 'connect') {
        const params = structuredClone(entry.frame.params);
        if (params.auth?.token) params.auth.token = TOKEN;
        out.push(params);
      }
    }
  }
  if (out.length === 0) throw new Error(`no connect frames found in ${FRAMES_DIR}`);
  return out;
}

const UUIDISH = () => `${randomBytes(4).toString('hex')}-0000-4000-8000-${randomBytes(6).toString('hex')}`;

/** Request templates for the methods the gateway serves, plus ones it does not. */
function requestTemplates(connects: Record<string, unknown>[]): Array<() => { method: string; params?: unknown }> {
  const deviceId = 'a'.repeat(64);
  return [
    () => ({ method: 'health', params: {} }),
    () => ({ method: 'health', params: { probe: true } }),
    () => ({ method: 'health' }),
    () => ({ method: 'status', params: {} }),
    () => ({ method: 'system-presence', params: {} }),
    () => ({ method: 'config.get', params: {} }),
    () => ({ method: 'device.pair.list', params: {} }),
    () => ({ method: 'device.pair.approve', params: { requestId: UUIDISH() } }),
    () => ({ method: 'device.pair.reject', params: { requestId: UUIDISH() } }),
    () => ({ method: 'device.pair.remove', params: { deviceId } }),
    () => ({ method: 'device.token.rotate', params: { deviceId, role: 'operator', scopes: ['operator.read'] } }),
    () => ({ method: 'device.token.revoke', params: { deviceId, role: 'node' } }),
    () => ({ method: 'connect', params: structuredClone(connects[0]) }),
    () => ({
      method: 'node.invoke',
      params: { nodeId: deviceId, command: 'system.run', params: { command: ['id'] }, idempotencyKey: UUIDISH() },
    }),
    () => ({ method: 'exec.approval.resolve', params: { id: UUIDISH(), decision: 'allow-once' } }),
    () => ({
      method: 'exec.approval.request',
      params: {
        command: 'id',
        commandArgv: ['/usr/bin/id'],
        nodeId: deviceId,
        ask: 'on-miss',
        twoPhase: true,
        timeoutMs: 5_000,
      },
    }),
    () => ({
      method: 'exec.approval.request',
      params: {
        host: 'node',
        nodeId: deviceId,
        systemRunPlan: { argv: ['/bin/sh', '-c', 'id'], cwd: '/tmp', commandText: 'id' },
      },
    }),
    () => ({ method: 'exec.approval.get', params: { id: UUIDISH().slice(0, 4) } }),
    () => ({ method: 'exec.approval.list', params: {} }),
    () => ({ method: 'exec.approval.waitDecision', params: { id: UUIDISH() } }),
    () => ({ method: 'exec.approvals.get', params: {} }),
    () => ({
      method: 'exec.approvals.set',
      params: { file: { version: 1, agents: { main: { security: 'deny' } } }, baseHash: 'x' },
    }),
    () => ({ method: 'exec.approvals.node.get', params: { nodeId: deviceId } }),
    () => ({ method: 'node.list', params: {} }),
    () => ({ method: 'node.describe', params: { nodeId: deviceId } }),
    () => ({ method: 'node.pair.list', params: {} }),
    () => ({ method: 'node.pair.approve', params: { requestId: UUIDISH() } }),
    () => ({ method: 'node.rename', params: { nodeId: deviceId, displayName: 'x' } }),
    () => ({ method: 'node.invoke.result', params: { id: UUIDISH(), nodeId: deviceId, ok: true } }),
    () => ({ method: 'node.event', params: { event: 'exec.finished', payloadJSON: '{' } }),
    () => ({ method: 'no.such.method', params: {} }),
  ];
}

const DEEP_MARKER = '\u0000deep\u0000';

function randomScalar(r: Rand): unknown {
  return pick(r, [
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1e308,
    () => -0,
    () => 2 ** 53 + 1,
    () => 3.14159,
    () => '',
    () => ' ',
    () => 'operator.admin',
    () => '\ud800',
    () => '\udfff\ud800',
    () => '\u202e\u200b\ufeff',
    () => 'ß\u0000nul',
    () => '🦀'.repeat(int(r, 1, 50)),
    () => '__proto__',
    () => String(r()),
  ])();
}

function randomValue(r: Rand, depth = 0): unknown {
  const roll = r();
  if (depth > 3 || roll < 0.55) return randomScalar(r);
  if (roll < 0.75) return Array.from({ length: int(r, 0, 4) }, () => randomValue(r, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = int(r, 0, 4); i > 0; i--)
    obj[pick(r, ['a', 'id', 'type', 'params', 'role', 'scopes', '__proto__', 'constructor', 'toString', String(i)])] =
      randomValue(r, depth + 1);
  return obj;
}

/** Keys, including ones that end up in error messages and close reasons: non-ASCII, long, control chars. */
function randomKey(r: Rand): string {
  return pick(r, [
    () => pick(r, ['bogus', 'extra', 'scopes', 'role', 'device', 'auth', 'constructor', 'toString']),
    () => `k${int(r, 0, 99)}`,
    () => 'é'.repeat(int(r, 1, 200)),
    () => '🦀'.repeat(int(r, 1, 100)),
    () => 'x'.repeat(int(r, 100, 5_000)),
    () => '\u0000\u202e\n\r',
    () => '',
  ])();
}

/** Every container node in a JSON tree, with a way to replace a child. */
function containers(root: unknown): Array<Record<string, unknown> | unknown[]> {
  const out: Array<Record<string, unknown> | unknown[]> = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    out.push(v as Record<string, unknown>);
    for (const child of Object.values(v)) walk(child, depth + 1);
  };
  walk(root, 0);
  return out;
}

function mutateTree(root: Record<string, unknown>, r: Rand, allowHuge: boolean): void {
  const nodes = containers(root);
  const node = pick(r, nodes);
  const keys = Object.keys(node);
  const key = keys.length ? pick(r, keys) : undefined;
  const set = (value: unknown) => {
    if (Array.isArray(node)) node[key === undefined ? node.length : Number(key)] = value;
    else node[key ?? 'extra'] = value;
  };
  // Mostly cheap structural mutations; the expensive ones (huge, deep, long arrays) are rarer.
  const op =
    r() < 0.12
      ? pick(r, ['huge', 'deep', 'array'])
      : pick(r, ['drop', 'drop', 'add', 'add', 'retype', 'retype', 'retype', 'retype', 'proto']);
  switch (op) {
    case 'drop':
      if (key !== undefined) {
        if (Array.isArray(node)) node.splice(Number(key), 1);
        else delete node[key];
      }
      break;
    case 'add':
      if (Array.isArray(node)) node.push(randomValue(r));
      else node[randomKey(r)] = randomValue(r);
      break;
    case 'retype':
      set(randomValue(r));
      break;
    case 'huge':
      set(
        pick<string>(r, ['x', 'é', '\ud83e\udd80', '\\"']).repeat(
          allowHuge ? int(r, 1_000, r() < 0.05 ? 300_000 : 10_000) : int(r, 100, 2_000),
        ),
      );
      break;
    case 'deep':
      set(DEEP_MARKER);
      break;
    case 'array':
      set(Array.from({ length: int(r, 0, allowHuge && r() < 0.1 ? 5_000 : 100) }, () => randomScalar(r)));
      break;
    case 'proto':
      // Own "__proto__"/"constructor" keys, as JSON.parse creates them (assignment would set the prototype).
      if (!Array.isArray(node)) {
        Object.defineProperty(node, '__proto__', {
          value: { polluted: true, isAdmin: true },
          enumerable: true,
          writable: true,
          configurable: true,
        });
        node['constructor'] = { prototype: { polluted: true } };
      }
      break;
  }
}

/** Serializes, splicing in deep nesting as raw text (deeper than JSON.stringify could recurse). */
function serialize(frame: unknown, r: Rand): string {
  let text = JSON.stringify(frame);
  if (r() < 0.05) text = text.replace(/^\{/, '{"__proto__":{"polluted":true},');
  while (text.includes(JSON.stringify(DEEP_MARKER))) {
    const depth = int(r, 50, r() < 0.03 ? 100_000 : 2_000);
    const deep = r() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    text = text.replace(JSON.stringify(DEEP_MARKER), deep);
  }
  return text;
}

interface PersistentCase {
  data: string | Buffer;
  binary: boolean;
  /** The id the answer must carry ("invalid" when the frame has no usable id). */
  expectId: string;
  method?: string;
}

function makePersistentCase(r: Rand, n: number, templates: ReturnType<typeof requestTemplates>): PersistentCase {
  const id = `f${n}`;
  const template = pick(r, templates)();
  const frame: Record<string, unknown> = {
    type: 'req',
    id,
    method: template.method,
    ...(template.params === undefined ? {} : { params: template.params }),
  };
  const roll = r();
  if (roll < 0.04) return { data: Buffer.from(JSON.stringify(frame)), binary: true, expectId: 'invalid' };
  if (roll < 0.08) {
    const text = JSON.stringify(frame);
    return { data: text.slice(0, int(r, 0, text.length - 1)), binary: false, expectId: 'invalid' };
  }
  if (roll < 0.1)
    return {
      data: pick(r, [
        'null',
        '1',
        '[]',
        '"req"',
        'true',
        '{}',
        '',
        ' ',
        '\u0000',
        '{"type":"req"}',
        `[${JSON.stringify(frame)}]`,
      ]),
      binary: false,
      expectId: 'invalid',
    };
  if (roll < 0.12) {
    // Duplicate keys: the last one wins in JSON.parse.
    return {
      data: `{"type":"req","id":123,"id":"${id}","method":"health","method":"health"}`,
      binary: false,
      expectId: id,
      method: 'health',
    };
  }
  const mutations = roll < 0.2 ? 0 : int(r, 1, 3);
  for (let i = 0; i < mutations; i++) mutateTree(frame, r, true);
  const text = serialize(frame, r);
  // The gateway answers with the frame's id when it is a non-empty string, else with "invalid".
  const finalId = frame.id;
  if (typeof finalId === 'string' && finalId !== '' && finalId !== DEEP_MARKER && finalId !== id)
    return makePersistentCase(r, n, templates);
  const expectId = finalId === id ? id : 'invalid';
  return { data: text, binary: false, expectId, method: typeof frame.method === 'string' ? frame.method : undefined };
}

/** Checks one answer on an authenticated connection against the protocol's promises. */
function answerProblem(c: PersistentCase, answer: RawFrame): string | null {
  if (answer.type !== 'res' || typeof answer.ok !== 'boolean')
    return `not a res frame: ${JSON.stringify(answer).slice(0, 200)}`;
  if (!answer.ok) {
    if (
      !answer.error ||
      !ERROR_CODE_SET.has(answer.error.code) ||
      typeof answer.error.message !== 'string' ||
      !answer.error.message
    ) {
      return `error without a documented code/message: ${JSON.stringify(answer.error).slice(0, 200)}`;
    }
    // An unexpected exception in a handler comes back as UNAVAILABLE "<method> failed: …" (a bug, not an answer).
    if (answer.error.code === 'UNAVAILABLE' && / failed: /.test(answer.error.message))
      return `internal failure surfaced: ${answer.error.message.slice(0, 200)}`;
    return null;
  }
  if (c.expectId === 'invalid') return 'an unusable frame was answered ok';
  if (c.method === 'connect' || c.method === 'no.such.method') return `${c.method} answered ok`;
  return null;
}

/** Encodes a client→server WebSocket frame by hand (masked), so tests can send what `ws` refuses to. */
function rawWsFrame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Buffer {
  const fin = options.fin ?? true;
  const mask = options.mask ?? true;
  const first = (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([first, (mask ? 0x80 : 0) | payload.length]);
  else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([header, key, body]);
}

interface Gateway {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  mem(): Promise<{ rss: number; heapUsed: number; connections: number }>;
}

async function startGatewayChild(stateDir: string, configPath: string): Promise<Gateway> {
  const script = bundleScript(path.join(__dirname, 'fixtures', 'gateway-child.ts'));
  const options = {
    stateDir,
    configPath,
    auth: { mode: 'token', token: TOKEN },
    port: 0,
    handshakeTimeoutMs: 1_500,
    authFailureDelayMs: 1,
    // Mutated tokens are wrong guesses; keep the limiter from turning every later case into AUTH_RATE_LIMITED.
    rateLimit: { maxFailures: 1e9, windowMs: 1_000, lockoutMs: 1, maxTrackedAddresses: 100 },
    withExec: true,
  };
  const child = fork(script, [JSON.stringify(options)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m: any) => (m.type === 'ready' ? resolve(m) : reject(new Error(JSON.stringify(m)))));
    void exited.then(() => reject(new Error(`gateway child exited during start-up: ${stderr}`)));
  });
  return {
    child,
    url: ready.url,
    exited,
    stderr: () => stderr,
    mem: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('gateway child did not answer a memory query (hung?)')),
          10_000,
        );
        child.once('message', (m: any) => {
          clearTimeout(timer);
          resolve(m);
        });
        child.send({ cmd: 'mem' });
      }),
  };
}

async function authenticated(url: string): Promise<RawClient> {
  const client = await RawClient.open(url);
  const params = {
    minProtocol: 3,
    maxProtocol: 4,
    client: { id: 'cli', version: 'fuzz', platform: 'linux', mode: 'cli' },
    role: 'operator',
    scopes: [...CLI_DEFAULT_OPERATOR_SCOPES],
    auth: { token: TOKEN },
  };
  const answer = await client.request('connect', 'connect', params);
  if (!answer.ok) throw new Error(`fuzz connection refused: ${JSON.stringify(answer.error)}`);
  // From here on the batch runner reads the answers; recording 100k of them would only grow this process.
  client.ws.removeAllListeners('message');
  return client;
}

/** Sends a batch on one authenticated connection and checks every answer arrives and keeps its promises. */
async function runPersistentBatch(
  client: RawClient,
  cases: PersistentCase[],
  fail: (message: string) => never,
): Promise<void> {
  const byId = new Map<string, PersistentCase>();
  let invalidExpected = 0;
  for (const c of cases) {
    if (c.expectId === 'invalid') invalidExpected++;
    else byId.set(c.expectId, c);
  }
  const invalidCases = cases.filter((c) => c.expectId === 'invalid');
  let invalidSeen = 0;
  await new Promise<void>((resolve, reject) => {
    // fail() throws; inside socket callbacks that must reject this batch instead of escaping as uncaught.
    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) => {
        try {
          fn(...args);
        } catch (error) {
          reject(error);
        }
      };
    const timer = setTimeout(
      guard(() =>
        fail(
          `hang: ${byId.size} answers and ${invalidExpected - invalidSeen} "invalid" answers missing after 20 s (e.g. ${[
            ...byId.values(),
          ]
            .slice(0, 2)
            .map((c) => String(c.data).slice(0, 160))
            .join(' | ')})`,
        ),
      ),
      20_000,
    );
    const onFrame = guard((data: WebSocket.RawData) => {
      let frame: RawFrame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        fail(`gateway sent a frame that is not JSON: ${data.toString().slice(0, 100)}`);
      }
      if (frame.type === 'event') return;
      if (frame.id === 'invalid') {
        const problem = answerProblem(
          invalidCases[invalidSeen] ?? { data: '', binary: false, expectId: 'invalid' },
          frame,
        );
        if (problem) fail(problem);
        invalidSeen++;
      } else {
        const c = byId.get(frame.id ?? '');
        if (!c)
          fail(`answer for an unknown id ${String(frame.id).slice(0, 80)}: ${JSON.stringify(frame).slice(0, 200)}`);
        const problem = answerProblem(c, frame);
        if (problem) fail(`${problem} — case ${String(c.data).slice(0, 300)}`);
        byId.delete(frame.id!);
      }
      if (byId.size === 0 && invalidSeen === invalidExpected) {
        clearTimeout(timer);
        client.ws.off('message', onFrame);
        resolve();
      }
    });
    client.ws.on('message', onFrame);
    client.ws.once(
      'close',
      guard((code: number, reason: Buffer) =>
        fail(
          `authenticated fuzz connection closed (${code} ${reason.toString()}) — batch starting ${String(cases[0]?.data).slice(0, 200)}`,
        ),
      ),
    );
    for (const c of cases) client.send(c.data, c.binary);
  });
  client.ws.removeAllListeners('close');
  client.ws.on('close', (code, reason) => {
    client.closeInfo = { code, reason: reason.toString() };
  });
}

const FRESH_CLOSE_CODES = new Set([1000, 1002, 1006, 1007, 1008, 1009]);

/** One fresh connection with a pre-handshake scenario; returns how many fuzz frames it carried. */
async function runFreshCase(
  url: string,
  r: Rand,
  connects: Record<string, unknown>[],
  templates: ReturnType<typeof requestTemplates>,
  fail: (message: string) => never,
): Promise<number> {
  // Some fresh connections carry hostile upgrade headers: a foreign or non-ASCII Origin, odd Host, forwarding.
  const headers: Record<string, string> = {};
  if (r() < 0.15) {
    const latin1 = () => String.fromCharCode(...Array.from({ length: int(r, 1, 150) }, () => int(r, 0xa0, 0xff)));
    for (const header of ['origin', 'host', 'x-forwarded-for', 'forwarded'].filter(() => r() < 0.5)) {
      headers[header] = pick(r, [
        () => `http://${latin1()}`,
        () => 'null',
        () => 'http://evil.example',
        () => latin1(),
        () => 'x'.repeat(int(r, 1, 4_000)),
        () => '127.0.0.1',
      ])();
    }
  }
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, headers });
  const client = new RawClient(ws);
  try {
    await client.opened;
  } catch (error) {
    // The HTTP layer may refuse a malformed upgrade outright (e.g. an oversized or invalid Host).
    if (Object.keys(headers).length > 0 && /HTTP 4\d\d|socket hang up|ECONNRESET/.test((error as Error).message))
      return 1;
    fail(`fresh connection refused: ${(error as Error).message} (headers ${JSON.stringify(headers).slice(0, 200)})`);
  }
  const challenge = await client
    .frame((f) => f.event === 'connect.challenge')
    .catch(() => fail('no connect.challenge'));
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  const connectFrame = (mutations: number) => {
    const params = structuredClone(pick(r, connects)) as Record<string, any>;
    if (params.device && r() < 0.5) params.device.nonce = challenge.payload.nonce;
    const frame: Record<string, unknown> = {
      type: 'req',
      id: `connect-${randomBytes(4).toString('hex')}`,
      method: 'connect',
      params,
    };
    for (let i = 0; i < mutations; i++) mutateTree(frame, r, false);
    return serialize(frame, r);
  };
  let frames = 1;
  const scenario = pick(r, [
    'mutated-connect',
    'mutated-connect',
    'mutated-connect',
    'valid-then-flood',
    'mutated-then-flood',
    'oversize',
    'invalid-utf8',
    'binary',
    'garbage',
    'raw-protocol',
    'after-close',
    'wrong-first',
  ]);
  let floodSent = 0;
  let mustBeAccepted = false;
  let expectedCloses: Set<number> = FRESH_CLOSE_CODES;
  switch (scenario) {
    case 'mutated-connect':
      client.send(connectFrame(int(r, 1, 3)));
      break;
    case 'valid-then-flood':
    case 'mutated-then-flood': {
      const flood = int(r, 1, 48);
      const valid = scenario === 'valid-then-flood';
      const params = {
        minProtocol: 3,
        maxProtocol: 4,
        client: { id: 'cli', version: 'fuzz', platform: 'linux', mode: 'cli' },
        scopes: ['operator.read'],
        auth: { token: TOKEN },
      };
      client.send(valid ? { type: 'req', id: 'c', method: 'connect', params } : connectFrame(int(r, 1, 2)));
      for (let i = 0; i < flood; i++) {
        const t = pick(r, templates)();
        client.send({
          type: 'req',
          id: `q${i}`,
          method: t.method,
          ...(t.params === undefined ? {} : { params: t.params }),
        });
      }
      frames += flood;
      floodSent = flood;
      // Up to 32 frames that arrive before hello-ok wait and are then answered; more close the socket (1008).
      if (valid && flood <= 32 && Object.keys(headers).length === 0) mustBeAccepted = true;
      break;
    }
    case 'oversize':
      client.send(
        JSON.stringify({
          type: 'req',
          id: 'big',
          method: 'connect',
          params: { pad: 'x'.repeat(int(r, 65_537, 300_000)) },
        }),
      );
      expectedCloses = new Set([1009]);
      break;
    case 'invalid-utf8':
      socket.write(rawWsFrame(0x1, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])));
      expectedCloses = new Set([1007, 1006]);
      break;
    case 'binary':
      client.send(Buffer.from(connectFrame(0)), true);
      break;
    case 'garbage':
      client.send(
        pick(r, [
          '',
          'null',
          '[]',
          '{',
          'GET / HTTP/1.1',
          randomBytes(int(r, 1, 64)).toString('base64'),
          '{"type":"req","id":"x"}',
        ]),
      );
      break;
    case 'wrong-first':
      client.send({ type: 'req', id: 'h', method: pick(r, ['health', 'status', 'device.pair.list']), params: {} });
      expectedCloses = new Set([1008]);
      break;
    case 'raw-protocol': {
      const bad = pick(r, [
        rawWsFrame(0x3, Buffer.from('reserved opcode')),
        rawWsFrame(0x1, Buffer.from('{}'), { rsv: 0x4 }),
        rawWsFrame(0x1, Buffer.from('{}'), { mask: false }),
        rawWsFrame(0x9, Buffer.alloc(200)),
        rawWsFrame(0x8, Buffer.from([0x03])),
        rawWsFrame(0x0, Buffer.from('continuation without start')),
        Buffer.concat([
          rawWsFrame(0x1, Buffer.from('{"type":'), { fin: false }),
          rawWsFrame(0x9, Buffer.from('ping'), { fin: false }),
        ]),
        randomBytes(int(r, 1, 200)),
      ]);
      socket.write(bad);
      break;
    }
    case 'after-close': {
      // A failing connect, more frames the server never asked for, our close, then frames after the close.
      client.send({ type: 'req', id: 'c', method: 'connect', params: { ...connects[0], auth: { token: 'wrong' } } });
      for (let i = 0; i < 5; i++) client.send({ type: 'req', id: `late${i}`, method: 'health' });
      socket.write(rawWsFrame(0x8, Buffer.from([0x03, 0xe8])));
      for (let i = 0; i < 5; i++)
        socket.write(rawWsFrame(0x1, Buffer.from(JSON.stringify({ type: 'req', id: `after${i}`, method: 'health' }))));
      frames += 11;
      break;
    }
  }
  // Settled: the gateway closed the socket, or accepted it and answered every queued frame.
  const isHello = (f: RawFrame) => f.type === 'res' && f.ok === true && f.payload?.type === 'hello-ok';
  const answered = () => client.frames.filter((f) => f.type === 'res' && f.id?.startsWith('q')).length;
  const settled = new Promise<'accepted'>((resolve) => {
    const check = () => client.frames.some(isHello) && answered() >= floodSent;
    if (check()) return resolve('accepted');
    const onMessage = () => {
      if (check()) {
        ws.off('message', onMessage);
        resolve('accepted');
      }
    };
    ws.on('message', onMessage);
  });
  const outcome = await Promise.race([
    client.closed,
    settled,
    new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 10_000)),
  ]);
  if (outcome === 'hang')
    fail(
      `hang: ${scenario} was neither answered nor closed within 10 s (frames: ${JSON.stringify(client.frames).slice(0, 300)})`,
    );
  const accepted = client.frames.some(isHello);
  if (mustBeAccepted && !accepted)
    fail(
      `${scenario}: a valid connect was refused: ${JSON.stringify(client.frames).slice(0, 300)} ${JSON.stringify(client.closeInfo)}`,
    );
  if (outcome === 'accepted') ws.terminate();
  const closed = outcome === 'accepted' ? { code: -1, reason: 'accepted' } : outcome;
  if (accepted && outcome !== 'accepted') {
    // Documented reasons to close an accepted session early: too many queued frames, or an unauthorized streak.
    const denials = client.frames.filter(
      (f) => f.type === 'res' && ['MISSING_SCOPE', 'UNAUTHORIZED_ROLE'].includes(f.error?.details?.code),
    ).length;
    const tooMany = closed.code === 1008 && closed.reason === 'too many frames before hello-ok';
    const flooded = closed.code === 1008 && closed.reason === 'repeated unauthorized calls' && denials > 10;
    if (!tooMany && !flooded)
      fail(
        `${scenario}: accepted session closed ${closed.code} ${closed.reason} (${denials} denials) before its queued frames were answered`,
      );
  }
  for (const frame of client.frames) {
    if (frame.type !== 'res') continue;
    if (frame.ok) {
      if (!accepted) fail(`${scenario}: ok answer without a handshake: ${JSON.stringify(frame).slice(0, 200)}`);
    } else if (!ERROR_CODE_SET.has(frame.error?.code ?? '') || !frame.error?.message) {
      fail(`${scenario}: undocumented error ${JSON.stringify(frame.error).slice(0, 200)}`);
    }
  }
  if (!accepted && !expectedCloses.has(closed.code))
    fail(`${scenario}: unexpected close ${closed.code} ${closed.reason}`);
  if (
    !accepted &&
    client.frames.some((f) => f.type === 'res' && !f.ok) &&
    closed.code === 1006 &&
    scenario !== 'raw-protocol' &&
    scenario !== 'invalid-utf8'
  ) {
    fail(`${scenario}: refused but the socket was cut without a close frame`);
  }
  return frames;
}

describe('frame fuzzing against a gateway process', () => {
  let gateway: Gateway;
  let stateDir: string;
  let watcher: GatewaySession;

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'clawdesk-fuzz-'));
    const configPath = path.join(stateDir, 'openclaw.json');
    await writeFile(configPath, JSON.stringify({ gateway: { auth: { token: TOKEN } }, agents: {} }));
    gateway = await startGatewayChild(stateDir, configPath);
    watcher = await connectGateway({
      url: gateway.url,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: ['operator.read'],
    });
  });

  afterAll(async () => {
    await watcher?.close().catch(() => undefined);
    gateway?.child.send({ cmd: 'stop' });
    await Promise.race([gateway?.exited, new Promise((r) => setTimeout(r, 3_000))]);
    gateway?.child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  });

  it(`survives ${TOTAL_CASES} mutated frames with bounded memory and every case answered (seed ${SEED})`, async () => {
    console.log(
      `[fuzz] FUZZ_SEED=${SEED} FUZZ_CASES=${TOTAL_CASES} (replay: FUZZ_SEED=${SEED} npx vitest run test/hardening/fuzz-frames.test.ts)`,
    );
    const r = prng(SEED);
    const connects = realConnectParams();
    const templates = requestTemplates(connects);
    let caseNo = 0;
    let failure: string | undefined;
    const fail = (message: string): never => {
      failure ??= `[fuzz] FAILED with FUZZ_SEED=${SEED} near case ${caseNo}: ${message}`;
      throw new Error(failure);
    };
    const guarded = <T>(p: Promise<T>) =>
      Promise.race([
        p,
        gateway.exited.then(({ code, signal }) =>
          fail(`gateway process died (code ${code}, signal ${signal}): ${gateway.stderr().slice(-2000)}`),
        ),
      ]);

    const persistent = await Promise.all(
      Array.from({ length: PERSISTENT_CONNECTIONS }, () => authenticated(gateway.url)),
    );
    // Warm-up so the baseline includes JIT code and steady-state buffers.
    for (const client of persistent)
      await guarded(
        runPersistentBatch(
          client,
          Array.from({ length: 50 }, () => makePersistentCase(r, caseNo++, templates)),
          fail,
        ),
      );
    const before = await gateway.mem();
    const started = Date.now();
    let batches = 0;
    let fresh = 0;
    const debug = process.env.FUZZ_DEBUG
      ? (label: string, t0: number) => console.log(`[fuzz] ${label} ${Date.now() - t0} ms`)
      : () => undefined;
    while (caseNo < TOTAL_CASES) {
      const t0 = Date.now();
      const cases = persistent.map(() =>
        Array.from({ length: BATCH_PER_CONNECTION }, () => makePersistentCase(r, caseNo++, templates)),
      );
      debug('generate', t0);
      await guarded(Promise.all(persistent.map((client, i) => runPersistentBatch(client, cases[i], fail))));
      debug('persistent batch', t0);
      const t1 = Date.now();
      const freshCounts = await guarded(
        Promise.all(
          Array.from({ length: FRESH_PER_BATCH }, () => runFreshCase(gateway.url, r, connects, templates, fail)),
        ),
      );
      debug('fresh batch', t1);
      for (const n of freshCounts) caseNo += n;
      fresh += FRESH_PER_BATCH;
      // A well-behaved client connected throughout keeps being served between batches.
      const health = await guarded(
        watcher.request('health', {}, { timeoutMs: 5_000 }).catch((e) => fail(`watcher health failed: ${e.message}`)),
      );
      expect(health.ok).toBe(true);
      batches++;
    }
    const elapsedMs = Date.now() - started;
    expect(failure).toBeUndefined();
    expect(watcher.closed).toBe(false);
    expect((await watcher.request('status')).ok).toBe(true);
    for (const client of persistent)
      expect(client.closeInfo, 'authenticated fuzz connection was closed').toBeUndefined();
    for (const client of persistent) client.ws.close();
    await expect.poll(async () => (await gateway.mem()).connections, { timeout: 5_000 }).toBe(1);
    const after = await gateway.mem();
    const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
    console.log(
      `[fuzz] ${caseNo} cases (${fresh} fresh connections, ${batches} batches) in ${elapsedMs} ms; gateway heap ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB, rss ${mib(before.rss)} → ${mib(after.rss)} MiB`,
    );
    expect(caseNo).toBeGreaterThanOrEqual(TOTAL_CASES);
    // Nothing accumulates per case: the heap after GC is back near where it started.
    expect(after.heapUsed - before.heapUsed, 'gateway heap growth after gc').toBeLessThan(24 * 1024 * 1024);
    expect(after.rss - before.rss, 'gateway rss growth').toBeLessThan(256 * 1024 * 1024);
    // Nothing the fuzzer sent paired a device or left a pending request behind.
    expect(pairedDevices(stateDir)).toEqual([]);
  }, 180_000);
});

function pairedDevices(stateDir: string): string[] {
  try {
    return Object.keys(JSON.parse(readFileSync(path.join(stateDir, 'devices', 'paired.json'), 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

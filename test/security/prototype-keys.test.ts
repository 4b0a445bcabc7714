import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createDevicePairingModule } from '../../gateway/pairing/device-pairing-module';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { CLI_DEFAULT_OPERATOR_SCOPES } from '../../gateway/protocol/scopes';
import { createCoreModule } from '../../gateway/server/core-module';
import type { MethodDefinition } from '../../gateway/server/gateway-module';
import { invoke, rejection, startExecHarness, TOKEN, waitFor, type ExecHarness } from '../approvals/exec-harness';
import { commandPayload } from '../helpers/node-payload';

/**
 * Issue 9 finding 5: an allow-always approval with `agentId: "__proto__"` set `Object.prototype.allowlist` inside the
 * gateway process, and from then on every frame from every client failed. Here every method the live gateway
 * advertises in hello-ok gets "__proto__", "prototype" and "constructor" in every string field and as every record
 * key and object key its params schema has (the schemas are read from the very modules the gateway runs), on a real
 * gateway with a real node host in this process. Afterwards nothing inherited from Object.prototype may have changed,
 * every client must still be served, and every refusal must be a clear INVALID_REQUEST naming the reserved key.
 * Before the fix, identifiers such as `agentId`, `requestId`, `deviceId` and env keys were accepted (and `__proto__`
 * keys were silently dropped), so the refusal assertions fail on that code.
 */

const RESERVED = ['__proto__', 'prototype', 'constructor'] as const;
/** Property names that are identifiers: a reserved value there must be refused, not merely survived. */
const ID_PROPERTY = /^(id|[A-Za-z]*Id|[A-Za-z]*Key|kind|role|event)$/;

type Path = (string | number)[];
interface Slot {
  /** Where the reserved name goes. */
  path: Path;
  /** 'value': as a string value; 'key': as a property name of the object at `path`. */
  as: 'value' | 'key';
  /** Must the gateway refuse it? (identifiers and property names: yes; free text such as a command: either way) */
  mustRefuse: boolean;
}

function def(schema: any): any {
  return schema?._zod?.def ?? schema?.def;
}

/** Peels optional/nullable/default/pipe (preprocess) wrappers. */
function core(schema: any): any {
  for (let i = 0; i < 20; i++) {
    const d = def(schema);
    if (!d) return schema;
    if (
      d.type === 'optional' ||
      d.type === 'nullable' ||
      d.type === 'default' ||
      d.type === 'readonly' ||
      d.type === 'nonoptional'
    )
      schema = d.innerType;
    else if (d.type === 'pipe') schema = def(d.out)?.type === 'transform' ? d.in : d.out;
    else return schema;
  }
  return schema;
}

function isOptional(schema: any): boolean {
  for (let i = 0; i < 20; i++) {
    const d = def(schema);
    if (!d) return false;
    if (d.type === 'optional' || d.type === 'default') return true;
    if (d.type === 'nullable' || d.type === 'readonly') schema = d.innerType;
    else if (d.type === 'pipe') schema = def(d.out)?.type === 'transform' ? d.in : d.out;
    else return false;
  }
  return false;
}

/** A minimal value the schema accepts (enough to reach the field under test). */
function sample(schema: any): unknown {
  const s = core(schema);
  const d = def(s);
  switch (d?.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(d.shape as Record<string, unknown>))
        if (!isOptional(inner)) out[key] = sample(inner);
      return out;
    }
    case 'string':
      return `x-${randomUUID().slice(0, 8)}`;
    case 'number':
    case 'int':
      return 1;
    case 'boolean':
      return false;
    case 'enum':
      return Object.values(d.entries)[0];
    case 'literal':
      return d.values[0];
    case 'array': {
      const min = (d.checks ?? []).map((c: any) => def(c)?.minimum).find((m: unknown) => typeof m === 'number') ?? 0;
      return min > 0 ? [sample(d.element)] : [];
    }
    case 'record':
      return {};
    case 'union':
      return sample(d.options[0]);
    default:
      return {};
  }
}

/** Every place a reserved name can go in params of this schema. */
function slots(schema: any, at: Path = [], name = ''): Slot[] {
  const s = core(schema);
  const d = def(s);
  switch (d?.type) {
    case 'object': {
      // Unknown keys: as a property name of this object (loose objects pass them, strict ones refuse them).
      const out: Slot[] = [{ path: at, as: 'key', mustRefuse: true }];
      for (const [key, inner] of Object.entries(d.shape as Record<string, unknown>))
        out.push(...slots(inner, [...at, key], key));
      return out;
    }
    case 'string':
      return [{ path: at, as: 'value', mustRefuse: ID_PROPERTY.test(name) }];
    case 'array':
      return slots(d.element, [...at, 0], name);
    case 'record':
      return [{ path: at, as: 'key', mustRefuse: true }, ...slots(d.valueType, [...at, 'k'], name)];
    case 'union':
      return d.options.flatMap((o: unknown) => slots(o, at, name));
    case 'unknown':
    case 'any':
      // Free-form (a policy file, a relayed payload): a reserved property name inside, and an identifier holding one.
      return [
        { path: at, as: 'key', mustRefuse: true },
        { path: [...at, 'agentId'], as: 'value', mustRefuse: true },
      ];
    default:
      return [];
  }
}

function defineOwn(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `base` with `word` put at the slot (creating objects along the way; reserved names always as own properties). */
function place(base: unknown, slot: Slot, word: string): unknown {
  const root = structuredClone(base ?? {}) as Record<string | number, unknown>;
  let cur: Record<string | number, unknown> = root;
  const steps = slot.path;
  const last = steps.length - 1;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (slot.as === 'value' && i === last) {
      defineOwn(cur, step, word);
      return root;
    }
    let next = cur[step];
    if (!next || typeof next !== 'object') {
      next = typeof steps[i + 1] === 'number' ? [] : {};
      defineOwn(cur, step, next);
    }
    cur = next as Record<string | number, unknown>;
  }
  if (slot.as === 'key') defineOwn(cur, word, { allowlist: [{ pattern: '/bin/sh' }], polluted: true });
  return root;
}

const describePath = (slot: Slot) => `${slot.as} at /${slot.path.join('/')}`;

/** Everything inherited from the built-in prototypes, to compare before and after. */
function prototypeFingerprint(): string {
  const of = (o: object) => Reflect.ownKeys(o).map(String).sort().join(',');
  return [of(Object.prototype), of(Array.prototype), of(Function.prototype), of(String.prototype)].join('|');
}

function assertNoPollution(before: string): void {
  const probe: any = {};
  expect(probe.allowlist).toBeUndefined();
  expect(probe.polluted).toBeUndefined();
  expect(probe.agentId).toBeUndefined();
  expect(([] as any).allowlist).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  expect(typeof probe.constructor).toBe('function');
  expect(prototypeFingerprint()).toBe(before);
}

let h: ExecHarness;
let admin: GatewaySession;
let nodeSession: GatewaySession;
let methods: string[];
const schemas = new Map<string, MethodDefinition>();
const fingerprint = prototypeFingerprint();

beforeAll(async () => {
  h = await startExecHarness();
  admin = await h.operator({ scopes: [...CLI_DEFAULT_OPERATOR_SCOPES] });
  methods = (admin as any).hello.features.methods;
  // A second node session for the node-only methods (node.event, node.invoke.result).
  nodeSession = await connectGateway({
    url: h.gateway.url,
    token: TOKEN,
    device: createEphemeralDeviceSigner(),
    role: 'node',
    clientId: 'node-host',
    clientMode: 'node',
    scopes: [],
  });
  // The schemas the live gateway validates with: the exec modules are the very instances it runs; core and pairing
  // are built by the same functions the server calls.
  const coreModule = createCoreModule({ stateDir: h.gateway.stateDir, authMode: 'token' });
  coreModule.stop();
  for (const module of [coreModule, createDevicePairingModule(h.gateway.pairing), ...h.exec.modules]) {
    for (const method of module.methods()) schemas.set(method.name, method);
  }
});

afterAll(async () => {
  await nodeSession?.close().catch(() => undefined);
  await h?.dispose();
});

async function call(
  session: GatewaySession,
  method: string,
  params: unknown,
): Promise<{ ok: true } | { ok: false; error: any; message: string }> {
  try {
    await session.request(method, params, { timeoutMs: 10_000 });
    return { ok: true };
  } catch (error: any) {
    return { ok: false, error: error.error, message: String(error.message) };
  }
}

describe('reserved object keys in every field of every advertised method (issue 9 finding 5)', () => {
  it('every advertised method has a known params schema', () => {
    expect(methods.length).toBeGreaterThan(20);
    const unknown = methods.filter((m) => !schemas.has(m));
    expect(unknown, 'methods the test cannot find a schema for: add their module above').toEqual([]);
  });

  it('refuses them as identifiers, record keys and property names with a clear INVALID_REQUEST; the gateway stays clean and keeps serving', async () => {
    const failures: string[] = [];
    let calls = 0;
    for (const method of methods) {
      const definition = schemas.get(method)!;
      const session = definition.access.kind === 'node' ? nodeSession : admin;
      const schema = definition.params;
      const base = sample(schema);
      for (const slot of slots(schema)) {
        for (const word of RESERVED) {
          const params = place(base, slot, word);
          const answer = await call(session, method, params);
          calls += 1;
          const where = `${method} ${describePath(slot)} = ${word}`;
          if (answer.ok) {
            if (slot.mustRefuse) failures.push(`${where}: accepted`);
          } else if (answer.error?.code !== 'INVALID_REQUEST') {
            // Not a crash, not an internal error: a refusal a client can read.
            if (slot.mustRefuse || !answer.error || /failed:/.test(answer.message))
              failures.push(`${where}: ${answer.error?.code ?? 'no error shape'} ${answer.message}`);
          } else if (
            slot.mustRefuse &&
            !(answer.message.includes(word) && /reserved object key/.test(answer.message))
          ) {
            failures.push(`${where}: refused, but not for the reserved key: ${answer.message}`);
          }
          assertNoPollution(fingerprint);
        }
      }
    }
    expect(calls).toBeGreaterThan(150);
    expect(failures).toEqual([]);
    // Everybody is still served: the same sessions, and a fresh connection.
    expect((await admin.request('health', {})).ok).toBe(true);
    expect(await nodeSession.request('node.event', { event: 'clawdesk.test', payload: {} })).toMatchObject({
      ok: true,
    });
    const fresh = await h.operator({ scopes: ['operator.read'] });
    expect((await fresh.request('status', {})).ok).toBe(true);
    await fresh.close();
  });

  it('a reserved key arriving as an own "__proto__" property of the JSON is refused, not silently dropped', async () => {
    const err = await rejection(
      admin.request('exec.approval.request', JSON.parse('{"command":"true","host":"gateway","env":{"__proto__":"x"}}')),
    );
    expect(err.error.code).toBe('INVALID_REQUEST');
    expect(err.message).toMatch(/at \/env: "__proto__" is a reserved object key/);
    assertNoPollution(fingerprint);
  });
});

describe('the allow-always path with agentId "__proto__", end to end', () => {
  it('is refused at the gateway before any approval exists, and nothing is polluted in the gateway or the node host', async () => {
    const argv = ['/bin/sh', '-c', 'true'];
    for (const agentId of RESERVED) {
      // The agent's flow: prepare on the node, then ask for an approval it would answer allow-always.
      const prepared = await invoke(admin, h.nodeId, 'system.run.prepare', {
        command: argv,
        agentId,
        sessionKey: 's',
      }).then(
        (r) => ({ ok: true as const, r }),
        (e) => ({ ok: false as const, e }),
      );
      if (!prepared.ok) {
        expect(prepared.e.error.code).toBe('INVALID_REQUEST');
        expect(prepared.e.message).toContain('reserved object key');
      }
      const request = await rejection(
        admin.request('exec.approval.request', {
          command: 'true',
          commandArgv: argv,
          host: 'gateway',
          agentId,
          sessionKey: 's',
          twoPhase: true,
        }),
      );
      expect(request.error.code).toBe('INVALID_REQUEST');
      expect(request.message).toMatch(new RegExp(`at /agentId: "${agentId}" is a reserved object key`));
      // A system.run that claims an allow-always for that agent never reaches the node.
      const run = await rejection(
        invoke(admin, h.nodeId, 'system.run', {
          command: argv,
          agentId,
          approved: true,
          approvalDecision: 'allow-always',
          runId: randomUUID(),
        }),
      );
      expect(run.error.code).toBe('INVALID_REQUEST');
      assertNoPollution(fingerprint);
    }
  });

  it('a policy file whose agents hold a reserved key is refused for the gateway host and for the node', async () => {
    const file = JSON.parse(
      '{"version":1,"agents":{"__proto__":{"allowlist":[{"pattern":"/bin/sh"}]},"constructor":{"allowlist":[{"pattern":"/bin/sh"}]}}}',
    );
    const before = readFileSync(path.join(h.gateway.stateDir, 'exec-approvals.json'), 'utf8');
    for (const [method, params] of [
      ['exec.approvals.set', { file }],
      ['exec.approvals.node.set', { nodeId: h.nodeId, file }],
    ] as const) {
      const err = await rejection(admin.request(method, params));
      expect(err.error.code, method).toBe('INVALID_REQUEST');
      expect(err.message, method).toMatch(/at \/file\/agents: "__proto__" is a reserved object key/);
    }
    expect(readFileSync(path.join(h.gateway.stateDir, 'exec-approvals.json'), 'utf8')).toBe(before);
    assertNoPollution(fingerprint);
  });

  it('the node host itself, asked directly over node.invoke with agentId "__proto__", stays unpolluted and keeps serving', async () => {
    // The gateway refuses this relay too (an identifier inside a relayed payload); the node host's own handling of
    // such an agent id belongs to gateway/exec (its approvals file) and is exercised there.
    for (const agentId of RESERVED) {
      const err = await rejection(
        invoke(admin, h.nodeId, 'system.run', { command: ['/bin/sh', '-c', 'true'], agentId }),
      );
      expect(err.error.code).toBe('INVALID_REQUEST');
      expect(err.message).toContain('reserved object key');
    }
    await waitFor(
      async () =>
        commandPayload(await invoke(admin, h.nodeId, 'system.which', { bins: ['sh'] })).bins?.sh !== undefined,
    );
    assertNoPollution(fingerprint);
  });
});

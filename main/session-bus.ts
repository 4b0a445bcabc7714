import net from 'node:net';
import path from 'node:path';

/**
 * Just enough of the D-Bus wire protocol (the D-Bus Specification, "Message Protocol") to ask the session bus a
 * question: connect over its Unix socket, authenticate with EXTERNAL (the kernel tells the bus our uid), say Hello,
 * call methods whose arguments are strings and uint32s, and read replies of one basic value. Linux only, no new
 * dependency, no process spawned: it is used to ask whether a StatusNotifier host (a tray) exists.
 */

type Arg = { type: 's'; value: string } | { type: 'u'; value: number };
export type BusValue = string | number | boolean;

enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

/** The socket path of a D-Bus address (`unix:path=…` or `unix:abstract=…`), the first usable one. */
export function sessionBusSocket(env: NodeJS.ProcessEnv): string | undefined {
  const address =
    env.DBUS_SESSION_BUS_ADDRESS || (env.XDG_RUNTIME_DIR ? `unix:path=${path.join(env.XDG_RUNTIME_DIR, 'bus')}` : '');
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (entry.slice(0, colon) !== 'unix') continue;
    const params = new Map(
      entry
        .slice(colon + 1)
        .split(',')
        .map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1))] as const;
        }),
    );
    if (params.get('path')) return params.get('path');
    // Linux abstract socket namespace: Node takes a leading NUL byte.
    if (params.get('abstract')) return `\0${params.get('abstract')}`;
  }
  return undefined;
}

class Writer {
  private readonly chunks: number[] = [];
  get length(): number {
    return this.chunks.length;
  }
  align(n: number): void {
    while (this.chunks.length % n !== 0) this.chunks.push(0);
  }
  byte(v: number): void {
    this.chunks.push(v & 0xff);
  }
  uint32(v: number): void {
    this.align(4);
    this.chunks.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  setUint32(at: number, v: number): void {
    this.chunks.splice(at, 4, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.uint32(bytes.length);
    this.chunks.push(...bytes, 0);
  }
  signature(v: string): void {
    this.byte(v.length);
    this.chunks.push(...Buffer.from(v, 'ascii'), 0);
  }
  buffer(): Buffer {
    return Buffer.from(this.chunks);
  }
}

function encodeCall(
  serial: number,
  destination: string,
  objectPath: string,
  iface: string,
  member: string,
  args: Arg[],
): Buffer {
  const body = new Writer();
  for (const arg of args) {
    if (arg.type === 's') body.string(arg.value);
    else body.uint32(arg.value);
  }
  const signature = args.map((a) => a.type).join('');
  const w = new Writer();
  w.byte(0x6c); // 'l': little endian
  w.byte(MessageType.MethodCall);
  w.byte(0);
  w.byte(1);
  w.uint32(body.length);
  w.uint32(serial);
  const lengthAt = w.length;
  w.uint32(0);
  const fieldsStart = w.length;
  const field = (code: number, sig: string, write: () => void) => {
    w.align(8);
    w.byte(code);
    w.signature(sig);
    write();
  };
  field(1, 'o', () => w.string(objectPath));
  field(2, 's', () => w.string(iface));
  field(3, 's', () => w.string(member));
  field(6, 's', () => w.string(destination));
  if (signature) field(8, 'g', () => w.signature(signature));
  w.setUint32(lengthAt, w.length - fieldsStart);
  w.align(8);
  return Buffer.concat([w.buffer(), body.buffer()]);
}

interface Message {
  type: number;
  replySerial?: number;
  errorName?: string;
  signature: string;
  body: Buffer;
  little: boolean;
}

/** Decodes one message at the start of `data`, or returns undefined when it is not complete yet. */
function decodeMessage(data: Buffer): { message: Message; size: number } | undefined {
  if (data.length < 16) return undefined;
  const little = data[0] === 0x6c;
  if (!little && data[0] !== 0x42) throw new Error('the session bus sent a malformed message');
  const u32 = (at: number) => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const bodyLength = u32(4);
  const fieldsLength = u32(12);
  const headerEnd = 16 + fieldsLength + ((8 - ((16 + fieldsLength) % 8)) % 8);
  const size = headerEnd + bodyLength;
  if (size > 64 * 1024 * 1024) throw new Error('the session bus sent an oversized message');
  if (data.length < size) return undefined;
  const message: Message = { type: data[1], signature: '', body: data.subarray(headerEnd, size), little };
  let at = 16;
  const end = 16 + fieldsLength;
  while (at < end) {
    at += (8 - (at % 8)) % 8;
    const code = data[at];
    const sigLength = data[at + 1];
    const sig = data.toString('ascii', at + 2, at + 2 + sigLength);
    at += 3 + sigLength;
    if (sig === 'u') {
      at += (4 - (at % 4)) % 4;
      if (code === 5) message.replySerial = u32(at);
      at += 4;
    } else if (sig === 's' || sig === 'o') {
      at += (4 - (at % 4)) % 4;
      const length = u32(at);
      const value = data.toString('utf8', at + 4, at + 4 + length);
      if (code === 4) message.errorName = value;
      at += 4 + length + 1;
    } else if (sig === 'g') {
      const length = data[at];
      if (code === 8) message.signature = data.toString('ascii', at + 1, at + 1 + length);
      at += 1 + length + 1;
    } else {
      throw new Error(`the session bus sent a header field of type ${sig}`);
    }
  }
  return { message, size };
}

/** The first value of a reply body (b, u, s and o are all Clawdesk reads). */
function firstValue(message: Message): BusValue | undefined {
  const { body, signature, little } = message;
  const u32 = (at: number) => (little ? body.readUInt32LE(at) : body.readUInt32BE(at));
  switch (signature[0]) {
    case 'b':
      return u32(0) !== 0;
    case 'u':
      return u32(0);
    case 's':
    case 'o':
      return body.toString('utf8', 4, 4 + u32(0));
    default:
      return undefined;
  }
}

/** One connection to the session bus. */
export class SessionBus {
  private serial = 0;
  private buffered = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve(v: BusValue | undefined): void; reject(e: Error): void }>();
  private failure?: Error;

  private constructor(private readonly socket: net.Socket) {}

  /** Connects and authenticates; rejects within `timeoutMs` when the bus does not answer. */
  static async connect(socketPath: string, timeoutMs = 2_000): Promise<SessionBus> {
    const socket = net.createConnection({ path: socketPath });
    const timer = setTimeout(
      () => socket.destroy(new Error(`the session bus did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('connect', () => {
          const uid = String(process.getuid?.() ?? 0);
          socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
        });
        let text = '';
        const onData = (data: Buffer) => {
          text += data.toString('latin1');
          if (!text.includes('\r\n')) return;
          socket.off('data', onData);
          if (!text.startsWith('OK ')) {
            reject(new Error(`the session bus refused authentication: ${text.trim()}`));
            return;
          }
          socket.write('BEGIN\r\n');
          resolve();
        };
        socket.on('data', onData);
      });
      const bus = new SessionBus(socket);
      socket.removeAllListeners('error');
      socket.on('data', (data: Buffer) => bus.receive(data));
      socket.on('error', (error) => bus.fail(error));
      socket.on('close', () => bus.fail(new Error('the session bus closed the connection')));
      await bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello');
      return bus;
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  call(
    destination: string,
    objectPath: string,
    iface: string,
    member: string,
    args: Arg[] = [],
  ): Promise<BusValue | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = ++this.serial;
    return new Promise((resolve, reject) => {
      this.pending.set(serial, { resolve, reject });
      this.socket.write(encodeCall(serial, destination, objectPath, iface, member, args));
    });
  }

  nameHasOwner(name: string): Promise<boolean> {
    return this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', [
      { type: 's', value: name },
    ]).then((v) => v === true);
  }

  /** Takes a well-known name (tests use it to stand in for a tray host). 1 = primary owner. */
  requestName(name: string): Promise<number> {
    return this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'RequestName', [
      { type: 's', value: name },
      { type: 'u', value: 4 }, // DBUS_NAME_FLAG_DO_NOT_QUEUE
    ]).then((v) => Number(v));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    try {
      for (let decoded = decodeMessage(this.buffered); decoded; decoded = decodeMessage(this.buffered)) {
        this.buffered = this.buffered.subarray(decoded.size);
        const { message } = decoded;
        if (message.replySerial === undefined) continue;
        const waiter = this.pending.get(message.replySerial);
        this.pending.delete(message.replySerial);
        if (message.type === MessageType.Error) waiter?.reject(new Error(message.errorName ?? 'D-Bus error'));
        else if (message.type === MessageType.MethodReturn) waiter?.resolve(firstValue(message));
      }
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** Asks the session bus whether `name` has an owner, on a short-lived connection. */
export async function sessionBusNameHasOwner(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 2_000,
): Promise<boolean> {
  const socketPath = sessionBusSocket(env);
  if (!socketPath) throw new Error('no session bus (DBUS_SESSION_BUS_ADDRESS is not set)');
  const bus = await SessionBus.connect(socketPath, timeoutMs);
  try {
    let timer: NodeJS.Timeout | undefined;
    return await Promise.race([
      bus.nameHasOwner(name),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the session bus did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    bus.close();
  }
}

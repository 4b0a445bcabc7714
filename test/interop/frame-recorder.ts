import http from 'node:http';
import net from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/**
 * A logging WebSocket proxy for protocol recon: listens on 127.0.0.1, forwards every connection to an upstream gateway
 * and records every frame both ways (`{conn, dir, iso, frame}`, the format of `test/interop/captures/`). Plain HTTP
 * requests are forwarded too and recorded as `{conn, dir:"http", ...}`.
 */

export interface RecordedFrame {
  conn: number;
  dir: 'c2s' | 's2c' | 'http' | 'close';
  iso: string;
  frame?: unknown;
  raw?: string;
  headers?: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
  status?: number;
  code?: number;
  reason?: string;
  by?: 'client' | 'server';
}

export interface FrameRecorder {
  port: number;
  frames: RecordedFrame[];
  /** Frames recorded since `mark` (an index from `frames.length`). */
  since(mark: number): RecordedFrame[];
  close(): Promise<void>;
}

function decode(data: RawData): { frame?: unknown; raw?: string } {
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as ArrayBuffer).toString('utf8');
  try {
    return { frame: JSON.parse(text) };
  } catch {
    return { raw: text };
  }
}

export async function startFrameRecorder(upstreamPort: number, listenPort = 0): Promise<FrameRecorder> {
  const frames: RecordedFrame[] = [];
  let nextConn = 0;
  const sockets = new Set<WebSocket>();

  const server = http.createServer((req, res) => {
    const conn = ++nextConn;
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        frames.push({
          conn,
          dir: 'http',
          iso: new Date().toISOString(),
          method: req.method,
          url: req.url,
          status: up.statusCode,
        });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (client, req) => {
    const conn = ++nextConn;
    const headers = { ...req.headers };
    frames.push({ conn, dir: 'http', iso: new Date().toISOString(), method: 'UPGRADE', url: req.url, headers });
    const forwardHeaders: Record<string, string> = {};
    for (const name of ['origin', 'user-agent', 'x-forwarded-for', 'x-real-ip', 'forwarded']) {
      const value = req.headers[name];
      if (typeof value === 'string') forwardHeaders[name] = value;
    }
    const upstream = new WebSocket(`ws://127.0.0.1:${upstreamPort}${req.url ?? '/'}`, {
      headers: forwardHeaders,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    sockets.add(client);
    sockets.add(upstream);
    const pendingToUpstream: Array<{ data: RawData; isBinary: boolean }> = [];
    client.on('message', (data, isBinary) => {
      frames.push({ conn, dir: 'c2s', iso: new Date().toISOString(), ...decode(data) });
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
      else pendingToUpstream.push({ data, isBinary });
    });
    upstream.on('open', () => {
      for (const item of pendingToUpstream.splice(0)) upstream.send(item.data, { binary: item.isBinary });
    });
    upstream.on('message', (data, isBinary) => {
      frames.push({ conn, dir: 's2c', iso: new Date().toISOString(), ...decode(data) });
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const validCode = (code: number) =>
      (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    upstream.on('close', (code, reason) => {
      frames.push({ conn, dir: 'close', by: 'server', iso: new Date().toISOString(), code, reason: reason.toString() });
      if (client.readyState === WebSocket.OPEN) client.close(validCode(code) ? code : 1000, reason);
    });
    client.on('close', (code, reason) => {
      frames.push({ conn, dir: 'close', by: 'client', iso: new Date().toISOString(), code, reason: reason.toString() });
      if (upstream.readyState === WebSocket.OPEN) upstream.close(validCode(code) ? code : 1000, reason);
      else if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    });
    upstream.on('error', () => client.terminate());
    client.on('error', () => upstream.terminate());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    frames,
    since: (mark) => frames.slice(mark),
    close: async () => {
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Replaces secrets (shared tokens, device tokens, signatures) in recorded frames before they are saved. */
export function redactFrames(frames: RecordedFrame[], secrets: string[]): RecordedFrame[] {
  const text = JSON.stringify(frames, (key, value) => {
    if (typeof value === 'string') {
      let out = value;
      for (const s of secrets) if (s) out = out.split(s).join('<shared-token>');
      if (out === value && (key === 'deviceToken' || key === 'token')) return '<device-token>';
      return out;
    }
    return value;
  });
  return JSON.parse(text) as RecordedFrame[];
}

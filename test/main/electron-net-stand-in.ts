// A stand-in `electron` for loading the real electron-updater in a test: require('electron') inside it answers
// with an `app` (what ElectronAppAdapter reads), `net.request` on node's http/https behaving like Electron's
// ClientRequest, `session.fromPartition`, and `autoUpdater` (BaseUpdater emits before-quit-for-update on it).
//
// As Electron's net module does, and unlike node's: errors are Chromium's `net::ERR_*` names (no `code`, so
// electron-updater's ECONNREFUSED retry never applies), no 'socket' event is emitted (so electron-updater's own
// timeout never fires: only our wrapper's can), a redirect with `redirect: 'manual'` is a 'redirect' event that
// waits for followRedirect() or abort(), and a request needs the session electron-updater got from fromPartition.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import Module from 'node:module';
import { PassThrough } from 'node:stream';

export interface StandInApp extends EventEmitter {
  isPackaged: boolean;
  version: string;
  userData: string;
  /** What the app was asked to do: "quit", "before-quit:prevented" / "before-quit:passed", "exit:0", "relaunch". */
  calls: string[];
  getVersion(): string;
  getName(): string;
  getAppPath(): string;
  getPath(name: string): string;
  whenReady(): Promise<void>;
  quit(): void;
  exit(code?: number): void;
  relaunch(): void;
}

export interface NetRequestRecord {
  method: string;
  url: string;
  partition: string | undefined;
}

export interface ElectronStandIn {
  app: StandInApp;
  autoUpdater: EventEmitter;
  requests: NetRequestRecord[];
  restore(): void;
}

const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'net::ERR_CONNECTION_REFUSED',
  ECONNRESET: 'net::ERR_CONNECTION_RESET',
  EPIPE: 'net::ERR_CONNECTION_RESET',
  ENOTFOUND: 'net::ERR_NAME_NOT_RESOLVED',
  ETIMEDOUT: 'net::ERR_TIMED_OUT',
};
const netError = (error: NodeJS.ErrnoException) =>
  new Error(
    NET_ERRORS[error.code ?? ''] ??
      (error.message === 'socket hang up' ? 'net::ERR_EMPTY_RESPONSE' : 'net::ERR_FAILED'),
  );

interface RequestOptions {
  url?: string;
  method?: string;
  protocol?: string;
  hostname?: string;
  host?: string;
  port?: string | number;
  path?: string;
  headers?: Record<string, string | string[] | number>;
  redirect?: 'follow' | 'manual' | 'error';
  session?: unknown;
}

export function installElectronStandIn(options: {
  version: string;
  isPackaged: boolean;
  userData: string;
  appPath?: string;
}): ElectronStandIn {
  const sessions = new Map<object, string>();
  const requests: NetRequestRecord[] = [];
  const app = Object.assign(new EventEmitter(), {
    isPackaged: options.isPackaged,
    version: options.version,
    userData: options.userData,
    calls: [] as string[],
    getVersion: () => app.version,
    getName: () => 'Clawdesk',
    getAppPath: () => options.appPath ?? options.userData,
    getPath: () => app.userData,
    whenReady: () => Promise.resolve(),
    quit() {
      app.calls.push('quit');
      // As Electron emits it: before-quit with a preventable event; not prevented, the app goes on to quit.
      const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
      app.emit('before-quit', event);
      app.calls.push(event.defaultPrevented ? 'before-quit:prevented' : 'before-quit:passed');
      if (!event.defaultPrevented) app.emit('quit', {}, 0);
    },
    exit(code = 0) {
      app.calls.push(`exit:${code}`);
    },
    relaunch() {
      app.calls.push('relaunch');
    },
  }) as StandInApp;
  const autoUpdater = new EventEmitter();

  class ClientRequest extends EventEmitter {
    private inner?: http.ClientRequest;
    private aborted = false;
    private pendingRedirect?: string;
    private readonly method: string;
    private body: Array<Buffer | string> = [];

    constructor(private readonly options: RequestOptions) {
      super();
      if (!options.session || !sessions.has(options.session))
        throw new Error('net.request: the session is not one session.fromPartition returned');
      this.method = (options.method ?? 'GET').toUpperCase();
    }

    private url(): string {
      if (this.options.url) return this.options.url;
      const protocol = this.options.protocol ?? 'http:';
      const host = this.options.hostname ?? this.options.host ?? 'localhost';
      const port = this.options.port ? `:${this.options.port}` : '';
      return `${protocol}//${host}${port}${this.options.path ?? '/'}`;
    }

    private send(url: string): void {
      requests.push({ method: this.method, url, partition: sessions.get(this.options.session as object) });
      const target = new URL(url);
      const lib = target.protocol === 'https:' ? https : http;
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(this.options.headers ?? {}))
        headers[name] = typeof value === 'number' ? String(value) : value;
      const inner = lib.request(target, { method: this.method, headers }, (response) => this.received(url, response));
      this.inner = inner;
      inner.on('error', (error: NodeJS.ErrnoException) => {
        if (!this.aborted) this.emit('error', netError(error));
      });
      inner.end(this.body.length > 0 ? Buffer.concat(this.body.map((b) => Buffer.from(b))) : undefined);
    }

    private received(url: string, response: http.IncomingMessage): void {
      if (this.aborted) return void response.resume();
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        const next = new URL(location, url).href;
        const mode = this.options.redirect ?? 'follow';
        if (mode === 'error') return void this.emit('error', new Error('net::ERR_UNSAFE_REDIRECT'));
        if (mode === 'manual') {
          this.pendingRedirect = next;
          return void this.emit('redirect', status, this.method, next, response.headers);
        }
        return this.send(next);
      }
      // Electron's IncomingMessage: a Readable with statusCode, statusMessage and lower-case headers.
      const message = Object.assign(new PassThrough(), {
        statusCode: status,
        statusMessage: response.statusMessage ?? '',
        headers: response.headers,
        httpVersion: response.httpVersion,
      });
      response.on('error', (error) => message.destroy(netError(error)));
      response.on('aborted', () => message.emit('aborted'));
      response.pipe(message);
      this.emit('response', message);
    }

    setHeader(name: string, value: string): void {
      this.options.headers = { ...this.options.headers, [name]: value };
    }

    write(chunk: Buffer | string): boolean {
      this.body.push(chunk);
      return true;
    }

    end(chunk?: Buffer | string): this {
      if (chunk != null) this.body.push(chunk);
      this.send(this.url());
      return this;
    }

    followRedirect(): void {
      const next = this.pendingRedirect;
      this.pendingRedirect = undefined;
      if (next) this.send(next);
    }

    abort(): void {
      if (this.aborted) return;
      this.aborted = true;
      this.inner?.destroy();
      this.emit('abort');
    }
  }

  const electron = {
    app,
    autoUpdater,
    net: { request: (opts: RequestOptions) => new ClientRequest(opts) },
    session: {
      fromPartition(partition: string, _options?: { cache?: boolean }) {
        const session = { partition };
        sessions.set(session, partition);
        return session;
      },
    },
  };
  const moduleWithLoad = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = moduleWithLoad._load;
  moduleWithLoad._load = function (request: string, ...rest: unknown[]) {
    if (request === 'electron') return electron;
    return load.call(this, request, ...rest);
  };
  return {
    app,
    autoUpdater,
    requests,
    restore: () => {
      moduleWithLoad._load = load;
    },
  };
}

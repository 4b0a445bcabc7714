import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionLike, ShellLike, WebContentsLike } from '../../main/electron-facades';
import {
  API_GLOBAL,
  EVENT_CHANNEL,
  INVOKE_METHODS,
  invokeChannel,
  type AppEvent,
  type InvokeApi,
} from '../../common/ipc-contract';
import { registerIpcHandlers, type IpcRejectedError } from '../../main/ipc/ipc-router';
import {
  CONTENT_SECURITY_POLICY,
  guardWebContents,
  installSessionGuards,
  isVettedExternalUrl,
  resolveAppAsset,
  secureWebPreferences,
} from '../../main/window-security';
import { buildClawdeskApi, type IpcRendererLike } from '../../preload/api-bridge';
import { FakeIpcMain, senderEvent } from './fakes';

function setup() {
  const ipc = new FakeIpcMain();
  const calls: Array<[string, unknown[]]> = [];
  const rejected: IpcRejectedError[] = [];
  const handlers = new Proxy({} as InvokeApi, {
    get:
      (_t, name: string) =>
      async (...args: unknown[]) => {
        calls.push([name, args]);
        return { ok: name };
      },
  });
  const unregister = registerIpcHandlers({
    ipcMain: ipc.api,
    handlers,
    isOwnWebContents: (id) => id === 1,
    onRejected: (_m, e) => rejected.push(e),
  });
  return { ipc, calls, rejected, unregister };
}

describe('IPC router', () => {
  it('registers exactly the contract channels and removes them again', () => {
    const { ipc, unregister } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual(INVOKE_METHODS.map(invokeChannel).sort());
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });

  it('passes validated arguments from a Clawdesk window', async () => {
    const { ipc, calls } = setup();
    await expect(ipc.invoke('clawdesk:resolveApproval', senderEvent(), 'abc', 'deny')).resolves.toEqual({
      ok: 'resolveApproval',
    });
    await ipc.invoke('clawdesk:queryApprovalHistory', senderEvent(), { text: 'git', limit: 10 });
    expect(calls).toEqual([
      ['resolveApproval', ['abc', 'deny']],
      ['queryApprovalHistory', [{ text: 'git', limit: 10 }]],
    ]);
  });

  it('rejects senders that are not Clawdesk windows: other webContents, iframes, other origins, no frame', async () => {
    const { ipc, calls, rejected } = setup();
    const bad = [
      senderEvent({ webContentsId: 7 }),
      senderEvent({ subframe: true }),
      senderEvent({ url: 'https://evil.example/index.html' }),
      senderEvent({ url: 'clawdesk://app.evil/index.html' }),
      senderEvent({ url: 'file:///work/main/dist/renderer/index.html' }),
      senderEvent({ noFrame: true }),
    ];
    for (const event of bad) {
      await expect(ipc.invoke('clawdesk:getStatus', event)).rejects.toThrow(/sender is not a Clawdesk window/);
    }
    expect(calls).toEqual([]);
    expect(rejected.every((e) => e.reason === 'untrusted-sender')).toBe(true);
  });

  it('rejects invalid payloads before any handler runs', async () => {
    const { ipc, calls } = setup();
    const cases: Array<[string, unknown[]]> = [
      ['clawdesk:resolveApproval', ['abc', 'allow-forever']],
      ['clawdesk:resolveApproval', ['', 'deny']],
      ['clawdesk:resolveApproval', ['abc']],
      ['clawdesk:resolveApproval', ['abc', 'deny', 'extra']],
      ['clawdesk:controlGateway', ['explode']],
      ['clawdesk:queryApprovalHistory', [{ text: 'x', __proto__hack: 1 }]],
      ['clawdesk:getLogs', [1e9]],
      ['clawdesk:setStartAtLogin', ['yes']],
      ['clawdesk:removeDevice', [{ toString: 'x' }]],
    ];
    for (const [channel, args] of cases) {
      await expect(ipc.invoke(channel, senderEvent(), ...args), `${channel} ${JSON.stringify(args)}`).rejects.toThrow(
        /invalid arguments/,
      );
    }
    expect(calls).toEqual([]);
  });
});

describe('preload bridge', () => {
  it('maps each method to its whitelisted channel and hands listeners only the payload', async () => {
    const invoked: Array<[string, unknown[]]> = [];
    const listeners = new Map<string, (...args: any[]) => void>();
    const ipc: IpcRendererLike = {
      invoke: async (channel: string, ...args: any[]) => {
        invoked.push([channel, args]);
        return 'result';
      },
      on: ((channel: string, listener: (...args: any[]) => void) => {
        listeners.set(channel, listener);
        return ipc;
      }) as unknown as IpcRendererLike['on'],
      removeListener: ((channel: string, _listener: (...args: any[]) => void) => {
        listeners.delete(channel);
        return ipc;
      }) as unknown as IpcRendererLike['removeListener'],
    };
    const api = buildClawdeskApi(ipc);
    expect(Object.isFrozen(api)).toBe(true);
    expect(Object.keys(api).sort()).toEqual([...INVOKE_METHODS, 'onEvent'].sort());
    await api.approveDevice('req-1');
    await api.rotateDeviceToken('dev', 'operator');
    expect(invoked).toEqual([
      ['clawdesk:approveDevice', ['req-1']],
      ['clawdesk:rotateDeviceToken', ['dev', 'operator']],
    ]);
    const seen: unknown[] = [];
    const off = api.onEvent((event: AppEvent) => seen.push(event));
    listeners.get(EVENT_CHANNEL)!({ sender: 'secret-ipc-object' }, { type: 'changed', topics: ['status'] });
    expect(seen).toEqual([{ type: 'changed', topics: ['status'] }]);
    off();
    expect(listeners.has(EVENT_CHANNEL)).toBe(false);
    expect(API_GLOBAL).toBe('clawdesk');
  });
});

describe('window security', () => {
  it('web preferences: isolation, sandbox, no node', () => {
    expect(secureWebPreferences('/p.js')).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      webSecurity: true,
    });
  });

  it('CSP allows only the app itself', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)/);
  });

  it('openExternal only for vetted https URLs', () => {
    expect(isVettedExternalUrl('https://github.com/openclaw/openclaw')).toBe(true);
    for (const url of [
      'http://github.com/',
      'https://github.com.evil.com/',
      'https://user:pw@github.com/',
      'https://github.com:8443/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'not a url',
    ]) {
      expect(isVettedExternalUrl(url), url).toBe(false);
    }
  });

  it('denies every permission request and check', () => {
    let requestHandler: Parameters<SessionLike['setPermissionRequestHandler']>[0] = null;
    let checkHandler: Parameters<SessionLike['setPermissionCheckHandler']>[0] = null;
    const session = {
      setPermissionRequestHandler: (h: typeof requestHandler) => (requestHandler = h),
      setPermissionCheckHandler: (h: typeof checkHandler) => (checkHandler = h),
      webRequest: {} as Electron.WebRequest,
    } as SessionLike;
    installSessionGuards(session);
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal'] as const) {
      let granted: boolean | undefined;
      requestHandler!({} as Electron.WebContents, permission, (g) => (granted = g), {} as Electron.PermissionRequest);
      expect(granted).toBe(false);
    }
    expect(checkHandler!(null, 'media', 'clawdesk://app', {} as Electron.PermissionCheckHandlerHandlerDetails)).toBe(
      false,
    );
  });

  it('navigation and new windows are denied; vetted links go to the browser', () => {
    const handlers = new Map<string, (event: { url: string; preventDefault(): void }) => void>();
    let openHandler: ((details: { url: string }) => { action: string }) | undefined;
    const contents = {
      id: 1,
      on: (name: string, handler: (event: any) => void) => {
        handlers.set(name, handler);
        return contents;
      },
      setWindowOpenHandler: (handler: (details: any) => any) => (openHandler = handler),
    } as unknown as WebContentsLike;
    const opened: string[] = [];
    const shell: ShellLike = { openExternal: async (url: string) => void opened.push(url) };
    guardWebContents(contents, shell);
    const navigate = (url: string) => {
      let prevented = false;
      handlers.get('will-navigate')!({ url, preventDefault: () => (prevented = true) });
      return prevented;
    };
    expect(navigate('https://evil.example/')).toBe(true);
    expect(navigate('https://github.com/openclaw')).toBe(true);
    expect(openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(openHandler!({ url: 'https://docs.openclaw.ai/x' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://github.com/openclaw', 'https://docs.openclaw.ai/x']);
    expect(handlers.has('will-attach-webview')).toBe(true);
  });

  it('the app protocol serves only files inside the renderer directory', () => {
    const root = path.resolve('/srv/renderer');
    expect(resolveAppAsset('clawdesk://app/', root)).toEqual({
      file: path.join(root, 'index.html'),
      mimeType: 'text/html; charset=utf-8',
    });
    expect(resolveAppAsset('clawdesk://app/app.js', root)?.file).toBe(path.join(root, 'app.js'));
    // URL parsing folds dot segments; whatever survives must stay inside the renderer directory.
    for (const url of ['clawdesk://app/../../etc/passwd.html', 'clawdesk://app/%2e%2e/%2e%2e/etc/passwd.html']) {
      const asset = resolveAppAsset(url, root);
      expect(asset === null || asset.file.startsWith(root + path.sep), url).toBe(true);
    }
    for (const url of [
      'clawdesk://app/../../etc/passwd',
      'clawdesk://app/..%2f..%2fsecrets.js',
      'clawdesk://app/..%5c..%5csecrets.js',
      'clawdesk://app/%00.html',
      'clawdesk://other/index.html',
      'https://app/index.html',
      'clawdesk://app/keys.json',
      'clawdesk://app/%E0%A4%A.html',
    ]) {
      expect(resolveAppAsset(url, root), url).toBeNull();
    }
  });
});

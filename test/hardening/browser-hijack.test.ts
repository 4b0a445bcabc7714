import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConnection, GatewayModule } from '../../gateway/server/gateway-module';
import { launchHeadlessChromium } from '../helpers/chromium';
import { startTestGateway, TOKEN, type TestGateway } from './helpers/harness';

/**
 * Cross-site WebSocket hijacking (issue 6, item 4): any page the owner visits can open ws://127.0.0.1:<port>.
 * A real headless Chromium loads a page from another loopback port and tries to connect; the gateway must
 * refuse it in every auth mode and with every credential, while the dashboard's allowlisted origin works.
 */

interface PageOutcome {
  challenge: boolean;
  answer?: { ok: boolean; payload?: any; error?: { code: string; message: string; details?: any } };
  close?: { code: number; reason: string };
  error?: string;
}

/** Runs inside the page: opens the socket, answers the challenge with `params`, reports what happened. */
const PAGE_CONNECT = `
window.tryConnect = (url, params) => new Promise((resolve) => {
  const out = { challenge: false };
  let ws;
  try { ws = new WebSocket(url); } catch (e) { resolve({ ...out, error: String(e) }); return; }
  const timer = setTimeout(() => { out.error = 'timeout'; try { ws.close(); } catch {} resolve(out); }, 8000);
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === 'event' && frame.event === 'connect.challenge') {
      out.challenge = true;
      ws.send(JSON.stringify({ type: 'req', id: 'hijack', method: 'connect', params }));
    } else if (frame.type === 'res' && frame.id === 'hijack') {
      out.answer = { ok: frame.ok, payload: frame.payload && { type: frame.payload.type, scopes: frame.payload.auth && frame.payload.auth.scopes }, error: frame.error };
      if (frame.ok) { clearTimeout(timer); ws.close(); resolve(out); }
    }
  };
  ws.onclose = (event) => { clearTimeout(timer); out.close = { code: event.code, reason: event.reason }; resolve(out); };
});
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>page</title><script>${PAGE_CONNECT}</script><body>page</body>`;

/** A sandboxed iframe has the opaque origin "null": a classic way around origin allowlists. */
const SANDBOX_PAGE = (url: string, params: unknown) => `<!doctype html><meta charset="utf-8"><body>
<iframe sandbox="allow-scripts" srcdoc="${`<script>${PAGE_CONNECT}; tryConnect(${JSON.stringify(url)}, ${JSON.stringify(params)}).then((r) => parent.postMessage(r, '*'));</script>`.replace(/"/g, '&quot;')}"></iframe>
<script>window.result = new Promise((resolve) => addEventListener('message', (e) => resolve(e.data)));</script></body>`;

function servePages(handler: (path: string) => string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(handler(req.url ?? '/'));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const connectParams = (extra: Record<string, unknown> = {}) => ({
  minProtocol: 3,
  maxProtocol: 4,
  client: { id: 'openclaw-control-ui', version: 'web', platform: 'web', mode: 'webchat' },
  role: 'operator',
  scopes: ['operator.admin', 'operator.approvals', 'operator.pairing'],
  ...extra,
});

describe('cross-site WebSocket hijacking from a real browser', () => {
  let browser: Browser;
  let page: Page;
  let evil: Awaited<ReturnType<typeof servePages>>;
  let dashboard: Awaited<ReturnType<typeof servePages>>;
  const gateways: TestGateway[] = [];
  const served: GatewayConnection[] = [];
  let sandboxParams: { url: string; params: unknown } = { url: '', params: {} };

  /** Records every session the gateway accepted (onConnected runs only after hello-ok was sent). */
  const recorder: GatewayModule = {
    name: 'hijack-recorder',
    methods: () => [],
    events: () => [],
    onConnected: (conn) => void served.push(conn),
  };

  beforeAll(async () => {
    evil = await servePages((p) =>
      p.startsWith('/sandbox') ? SANDBOX_PAGE(sandboxParams.url, sandboxParams.params) : PAGE,
    );
    dashboard = await servePages(() => PAGE);
    browser = await launchHeadlessChromium();
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(gateways.map((g) => g.cleanup()));
    await evil?.close();
    await dashboard?.close();
  });

  const gateway = async (options: Parameters<typeof startTestGateway>[0]) => {
    const g = await startTestGateway({ ...options, allowedOrigins: [dashboard.origin], modules: [recorder] });
    gateways.push(g);
    return g;
  };

  const fromPage = async (origin: string, url: string, params: unknown): Promise<PageOutcome> => {
    if (page.url() !== `${origin}/`) await page.goto(`${origin}/`);
    return page.evaluate(([u, p]) => (globalThis as any).tryConnect(u, p), [url, params] as const);
  };

  const expectRefused = (outcome: PageOutcome) => {
    expect(outcome.challenge).toBe(true);
    expect(outcome.answer?.ok).toBe(false);
    expect(outcome.answer?.error?.details?.code).toBe('CONTROL_UI_ORIGIN_NOT_ALLOWED');
    expect(outcome.close?.code).toBe(1008);
  };

  it.each([
    ['auth none, no credentials', { auth: { mode: 'none' as const } }, {}],
    ['token auth, no token', {}, {}],
    ['token auth, a guessed token', {}, { auth: { token: 'guessed-token' } }],
    ['token auth, even the right token', {}, { auth: { token: TOKEN } }],
    [
      'password auth, a guessed password',
      { auth: { mode: 'password' as const, password: 'pw-1234567890' } },
      { auth: { password: 'hunter2' } },
    ],
  ])('another origin is refused: %s', async (_label, options, extra) => {
    const g = await gateway(options);
    const before = served.length;
    for (const url of [g.url, g.url.replace('127.0.0.1', 'localhost')]) {
      const outcome = await fromPage(evil.origin, url, connectParams(extra));
      expectRefused(outcome);
    }
    // Node-role and device-less CLI identities from a page fare no better.
    expectRefused(
      await fromPage(evil.origin, g.url, {
        ...connectParams(extra),
        client: { id: 'cli', version: '1', platform: 'linux', mode: 'cli' },
      }),
    );
    expectRefused(
      await fromPage(evil.origin, g.url, {
        ...connectParams(extra),
        role: 'node',
        scopes: [],
        client: { id: 'node-host', version: '1', platform: 'linux', mode: 'node' },
      }),
    );
    expect(served.length).toBe(before);
    expect(g.pairing.listPending()).toEqual([]);
    expect(g.pairing.listPaired()).toEqual([]);
  });

  it('a sandboxed iframe (Origin: null) is refused too', async () => {
    const g = await gateway({ auth: { mode: 'none' } });
    const before = served.length;
    sandboxParams = { url: g.url, params: connectParams() };
    await page.goto(`${evil.origin}/sandbox`);
    const outcome = (await page.evaluate(() => (globalThis as any).result)) as PageOutcome;
    expectRefused(outcome);
    expect(served.length).toBe(before);
  });

  it('the dashboard origin on the allowlist still works', async () => {
    const tokenGateway = await gateway({});
    const ok = await fromPage(dashboard.origin, tokenGateway.url, connectParams({ auth: { token: TOKEN } }));
    expect(ok.answer).toMatchObject({ ok: true, payload: { type: 'hello-ok' } });
    // Allowlisted, but still no credentials: refused as unauthorized, not as a foreign origin.
    const noToken = await fromPage(dashboard.origin, tokenGateway.url, connectParams());
    expect(noToken.answer?.ok).toBe(false);
    expect(['AUTH_TOKEN_MISSING', 'DEVICE_IDENTITY_REQUIRED']).toContain(noToken.answer?.error?.details?.code);

    const openGateway = await gateway({ auth: { mode: 'none' } });
    const owner = await fromPage(dashboard.origin, openGateway.url, connectParams());
    expect(owner.answer).toMatchObject({ ok: true, payload: { type: 'hello-ok' } });
    expect(served.filter((c) => c.client.id === 'openclaw-control-ui').length).toBe(2);
  });
});

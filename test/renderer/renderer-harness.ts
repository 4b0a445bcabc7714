import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { AppEvent, InvokeApi } from '../../common/ipc-contract';
import type { IpcMainInvokeEvent, IpcMainLike } from '../../main/electron-facades';
import { registerIpcHandlers } from '../../main/ipc/ipc-router';
import { launchHeadlessChromium } from '../helpers/chromium';
import { appResponseHeaders, resolveAppAsset } from '../../main/window-security';

/**
 * The renderer's test bench, shared by every headless-Chromium suite: the built UI served with the clawdesk://
 * protocol handler's resolution and headers, the real preload bridge with its IPC carried by a Playwright binding,
 * and every call going through the app's real IPC router as a trusted main frame.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface RendererBench {
  browser: Browser;
  baseUrl: string;
  /** The preload stand-in (bundled preload/api-bridge.ts), injected before the app's script. */
  standIn: string;
  close(): Promise<void>;
}

export async function startRendererBench(): Promise<RendererBench> {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-ui.mjs')], { cwd: REPO_ROOT });
  const bundled = await build({
    entryPoints: [path.join(__dirname, 'preload-stand-in.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
  });
  const rendererDir = path.join(REPO_ROOT, 'dist', 'renderer');
  const server = http.createServer((req, res) => {
    // Same resolution and headers as the clawdesk:// protocol handler in the app.
    const asset = resolveAppAsset(`clawdesk://app${new URL(req.url ?? '/', 'http://x').pathname}`, rendererDir);
    if (!asset) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, appResponseHeaders(asset.mimeType)).end(readFileSync(asset.file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchHeadlessChromium();

  return {
    browser,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    standIn: bundled.outputFiles[0].text,
    close: async () => {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The page's IPC as the test sees it: how often each method was called, and calls held back or failed on purpose. */
export interface IpcProbe {
  calls(method: string): number;
  /** Holds the next call of `method` after main has answered it, until `release()`: a slow reply. */
  holdNext(method: string): { release(): void; answered: Promise<void> };
  /** Makes the next call of `method` fail as main would, with `message`. */
  failNext(method: string, message: string): void;
}
export type ProbedPage = Page & { errors: string[]; ipc: IpcProbe };

export interface OpenPageOptions {
  /** `#prompt` for the approval prompt, a view id for the dashboard. */
  hash?: string;
  /** The OS language the page sees (navigator.languages), as Electron reports app.getLocale(). */
  locale?: string;
  viewport?: { width: number; height: number };
  /** Scripts run before the app's (after the preload stand-in). */
  initScripts?: string[];
  /** IPC calls the router refused (a test asserts there are none). */
  rejected?: string[];
}

export async function openAppPage(
  bench: RendererBench,
  service: InvokeApi,
  options: OpenPageOptions = {},
): Promise<ProbedPage> {
  const hash = options.hash ?? '';
  const page = await bench.browser.newPage({
    viewport: options.viewport ?? { width: 1100, height: 800 },
    locale: options.locale,
  });
  const handlers = new Map<string, (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>>();
  const ipcMain: IpcMainLike = {
    handle: (channel: string, listener: (event: IpcMainInvokeEvent, ...args: any[]) => Promise<unknown> | unknown) => {
      handlers.set(channel, listener as never);
    },
    removeHandler: (channel: string) => {
      handlers.delete(channel);
    },
  };
  registerIpcHandlers({
    ipcMain,
    handlers: service,
    isOwnWebContents: (id) => id === 1,
    onRejected: (m, e) => options.rejected?.push(`${m}: ${e.message}`),
  });
  // Every call goes through the real router: the sender is this page's main frame, as Electron would report it.
  const trusted = {
    sender: { id: 1 },
    senderFrame: { url: `clawdesk://app/index.html${hash === '#prompt' ? '#prompt' : ''}`, parent: null },
  } as unknown as IpcMainInvokeEvent;
  const calls = new Map<string, number>();
  const holds = new Map<string, { gate: Promise<void>; answered: () => void }>();
  const faults = new Map<string, string>();
  const ipc: IpcProbe = {
    calls: (method) => calls.get(`clawdesk:${method}`) ?? 0,
    holdNext: (method) => {
      let release!: () => void;
      let answered!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const answeredPromise = new Promise<void>((resolve) => (answered = resolve));
      holds.set(`clawdesk:${method}`, { gate, answered });
      return { release, answered: answeredPromise };
    },
    failNext: (method, message) => faults.set(`clawdesk:${method}`, message),
  };
  await page.exposeBinding('__clawdeskIpc', async (_source, channel: string, args: unknown[]) => {
    calls.set(channel, (calls.get(channel) ?? 0) + 1);
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`no such channel ${channel}`);
    const fault = faults.get(channel);
    if (fault !== undefined) {
      faults.delete(channel);
      throw new Error(`Error invoking remote method '${channel}': Error: ${fault}`);
    }
    const result = await handler(trusted, ...args);
    const hold = holds.get(channel);
    if (hold) {
      holds.delete(channel);
      hold.answered();
      await hold.gate;
    }
    return result;
  });
  await page.addInitScript({ content: bench.standIn });
  for (const content of options.initScripts ?? []) await page.addInitScript({ content });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(msg.text());
  });
  const probed = Object.assign(page, { errors, ipc });
  await page.goto(`${bench.baseUrl}/index.html${hash}`);
  return probed;
}

/** The page has handled everything sent to it so far: an IPC round trip queues behind every earlier reply. */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(() => (window as any).clawdesk.getStatus());
}

/** Sends an app event to the page, as main's broadcast does. */
export async function emit(page: Page, ...topics: AppEvent['topics']): Promise<void> {
  const event: AppEvent = { type: 'changed', topics };
  await page.evaluate((payload: AppEvent) => (window as any).__clawdeskEmit(payload), event);
}

export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return violations
    .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: any) => `${v.id} (${v.impact}, ${v.nodes})`);
}

/** Text that spills out of its box: elements whose content is wider than they are and that do not scroll. */
export async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('#app *')) {
      if (el.closest('svg')) continue;
      const style = getComputedStyle(el);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) continue;
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
        out.push(
          `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}: ${el.textContent?.slice(0, 40)}`,
        );
      }
    }
    return out;
  });
}

export async function showView(page: Page, id: string): Promise<void> {
  await page.click(`#tab-${id}`);
  await page.waitForSelector(`#content[data-view="${id}"]`);
}

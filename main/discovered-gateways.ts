// The gateways announcing themselves on this network, for the dashboard's Gateways view (docs/remote-gateways.md
// § Discovery): the mDNS browse of gateway/remote/gateway-discovery.ts, started by the view's first ask and stopped
// when the dashboard window closes, so nothing listens in the background for nobody. It only listens: adding one
// is the person's act, through the add form and its trust on first use.
import type { EventEmitter } from 'node:events';
import type { DiscoveredGatewayView, DiscoveredGatewaysView } from '../common/ipc-contract';
import {
  cleanName,
  GatewayBrowser,
  isHostName,
  MAX_DISCOVERED_GATEWAYS,
  type DiscoveredGateway,
  type GatewayBrowserEvents,
} from '../gateway/remote/gateway-discovery';
import { suggestGatewayName } from '../gateway/remote/saved-gateways';
import { normalizeTlsFingerprint } from '../gateway/remote/transport-policy';
import type { MainLog } from './main-log';

/** What is used of a GatewayBrowser: tests pass one browsing loopback only. */
export type GatewayBrowserLike = Pick<GatewayBrowser, 'start' | 'stop' | 'gateways' | 'dropped'> &
  Pick<EventEmitter<GatewayBrowserEvents>, 'on' | 'removeAllListeners'>;

export interface DiscoveredGatewaysDeps {
  /** For the plaintext rule's verdict (OPENCLAW_ALLOW_INSECURE_PRIVATE_WS). */
  env: NodeJS.ProcessEnv;
  /** Makes the browser; by default one on every IPv4 interface. */
  createBrowser?: () => GatewayBrowserLike;
  /** The list changed (the dashboard is told: the `discovered-gateways` topic). At most every `notifyDelayMs`. */
  onChange(): void;
  notifyDelayMs?: number;
  log: MainLog;
}

export interface DiscoveredGateways {
  /** What is known now; the first call (and the first after stop()) starts listening. */
  list(): Promise<DiscoveredGatewaysView>;
  /** Stops listening and forgets the list (the dashboard window closed, or the app quits). */
  stop(): Promise<void>;
  readonly browsing: boolean;
}

const MAX_HOST = 253;

/** Cleaned and cut to MAX_SHOWN_NAME characters: the browser already does it; this holds whatever it is given. */
const shown = (text: string | undefined): string => cleanName(String(text ?? ''));

/** Only named, checked fields cross to the renderer; nothing here was authenticated. */
export function discoveredGatewayView(g: DiscoveredGateway, taken: Set<string>): DiscoveredGatewayView | undefined {
  let url: URL;
  try {
    url = new URL(g.url);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isHostName(host) || host.length > MAX_HOST || !Number.isInteger(g.port) || g.port < 1 || g.port > 65535)
    return undefined;
  const tls = g.tls === true && url.protocol === 'wss:';
  const fingerprintHint = tls ? normalizeTlsFingerprint(g.tlsFingerprintHint) : undefined;
  const name = shown(g.displayName) || shown(g.instanceName) || host;
  return {
    name,
    instanceName: shown(g.instanceName) || name,
    host,
    port: g.port,
    tls,
    url: `${tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${g.port}`,
    ...(fingerprintHint ? { fingerprintHint } : {}),
    plaintextRefused: !tls && g.plaintext?.allowed !== true,
    ...(g.sshPort && Number.isInteger(g.sshPort) && g.sshPort >= 1 && g.sshPort <= 65535 ? { sshPort: g.sshPort } : {}),
    suggestedName: suggestGatewayName({ ...g, displayName: name }, taken),
  };
}

export function setupDiscoveredGateways(deps: DiscoveredGatewaysDeps): DiscoveredGateways {
  const { log } = deps;
  let browser: GatewayBrowserLike | undefined;
  let starting: Promise<void> | undefined;
  let problem: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const delay = deps.notifyDelayMs ?? 200;

  /** A flood of announcements redraws the list a few times a second at most. */
  const changed = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      deps.onChange();
    }, delay);
    timer.unref?.();
  };

  const start = (): Promise<void> => {
    starting ??= (async () => {
      const next = (deps.createBrowser ?? (() => new GatewayBrowser({ env: deps.env })))();
      for (const event of ['up', 'update', 'down'] as const) next.on(event, changed);
      next.on('warning', (message: string) => log('warn', `gateway discovery: ${message}`));
      try {
        await next.start();
        browser = next;
        if (problem) log('info', 'gateway discovery: listening for gateways on this network again');
        problem = undefined;
        log('debug', 'gateway discovery: listening for gateways on this network (mDNS)');
      } catch (error) {
        next.removeAllListeners();
        await next.stop().catch(() => undefined);
        const message = (error as Error).message;
        if (message !== problem) log('warn', `gateway discovery: ${message}`);
        problem = message;
      } finally {
        starting = undefined;
      }
    })();
    return starting;
  };

  return {
    get browsing() {
      return browser !== undefined;
    },
    async list() {
      if (!browser) await start();
      const current = browser;
      if (!current) return { browsing: false, gateways: [], dropped: 0, ...(problem ? { problem } : {}) };
      const taken = new Set<string>();
      const gateways = current
        .gateways()
        .slice(0, MAX_DISCOVERED_GATEWAYS)
        .flatMap((g) => discoveredGatewayView(g, taken) ?? []);
      return { browsing: true, gateways, dropped: current.dropped };
    },
    async stop() {
      await starting;
      const current = browser;
      browser = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!current) return;
      current.removeAllListeners();
      await current.stop();
      log('debug', 'gateway discovery: stopped');
      // The list the dashboard shows is gone with it.
      deps.onChange();
    },
  };
}

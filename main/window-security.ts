import path from 'node:path';
import { APP_ORIGIN, APP_SCHEME } from './app-identity';
import type { SessionLike, ShellLike, WebContentsLike, WebPreferences } from './electron-facades';

/** The only preferences Clawdesk's windows are created with. */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
  };
}

/** Strict CSP for every page served from clawdesk://app (also set as a meta tag in the HTML). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
].join('; ');

/** Hosts the app may send the user to in their browser. */
export const EXTERNAL_HOSTS = ['github.com', 'openclaw.ai', 'docs.openclaw.ai'] as const;

/** Only https, no credentials, no odd ports, and a host on the list. Everything else is refused. */
export function isVettedExternalUrl(raw: string, hosts: readonly string[] = EXTERNAL_HOSTS): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || (url.port && url.port !== '443')) return false;
  return hosts.includes(url.hostname.toLowerCase());
}

/** Deny every permission (camera, notifications from pages, geolocation, clipboard-read, ...). */
export function installSessionGuards(session: SessionLike): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/**
 * No navigation away from the app, no new windows, no webviews. Links to vetted https pages open in the
 * user's browser instead.
 */
export function guardWebContents(contents: WebContentsLike, shell: ShellLike): void {
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    if (isVettedExternalUrl(event.url)) void shell.openExternal(event.url);
  });
  contents.on('will-redirect', (event) => {
    if (!event.url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isVettedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Maps clawdesk://app/<path> to a file inside the renderer directory, or null: wrong scheme or host, a path
 * that escapes the directory (also when percent-encoded), or a file type that is not served.
 */
export function resolveAppAsset(requestUrl: string, rendererDir: string): { file: string; mimeType: string } | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== 'app') return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, relative);
  if (!file.startsWith(root + path.sep)) return null;
  const mimeType = MIME[path.extname(file).toLowerCase()];
  return mimeType ? { file, mimeType } : null;
}

export function appResponseHeaders(mimeType: string): Record<string, string> {
  return {
    'content-type': mimeType,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
  };
}

// The app's own pages: the clawdesk:// scheme serving renderer/, the session's permission and request guards, and
// the guard on every web contents (navigation, new windows). Before any window exists.
import { readFile } from 'node:fs/promises';
import { APP_SCHEME } from './app-identity';
import type { SessionLike, ShellLike } from './electron-facades';
import { appResponseHeaders, guardWebContents, installSessionGuards, resolveAppAsset } from './window-security';

export interface AppProtocolDeps {
  protocol: Pick<Electron.Protocol, 'handle'>;
  session: SessionLike;
  app: Pick<Electron.App, 'on'>;
  shell: ShellLike;
  rendererDir: string;
}

/** Only GET of a file inside rendererDir is served; anything else is a 404 (the page never learns why). */
export async function serveAppAsset(request: Request, rendererDir: string): Promise<Response> {
  const asset = resolveAppAsset(request.url, rendererDir);
  if (!asset || request.method !== 'GET') return new Response('Not found', { status: 404 });
  try {
    return new Response(await readFile(asset.file), { headers: appResponseHeaders(asset.mimeType) });
  } catch {
    return new Response('Not found', { status: 404 });
  }
}

export function setupAppProtocol(deps: AppProtocolDeps): void {
  installSessionGuards(deps.session);
  deps.app.on('web-contents-created', (_event, contents) => guardWebContents(contents, deps.shell));
  deps.protocol.handle(APP_SCHEME, (request) => serveAppAsset(request, deps.rendererDir));
}

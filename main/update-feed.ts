// Where updates come from: the feed electron-builder writes into the app (`<resources>/app-update.yml`, from
// package.json `build.publish`), checked before electron-updater is allowed to use it.
import { promises as fs } from 'node:fs';
import { isLoopbackAddress } from '../gateway/server/locality';

/** The feeds Clawdesk updates from: GitHub Releases, or any HTTPS server holding electron-builder's files. */
export type UpdateFeed =
  | { provider: 'github'; owner: string; repo: string; [key: string]: unknown }
  | { provider: 'generic'; url: string; [key: string]: unknown };

export interface FeedCheckOptions {
  platform: NodeJS.Platform;
  /** Tests only: a plain-http feed on a loopback address (127.0.0.0/8, ::1). Never set by the app. */
  allowLoopbackHttp?: boolean;
}

export class FeedRefusedError extends Error {
  readonly code = 'UPDATE_FEED_REFUSED';
}

const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * Accepts only a feed whose answers cannot be swapped on the way: https (the metadata carries the sha512 every
 * download is checked against, so plain http would let anyone on the path choose both), no credentials in the
 * app, and on Windows a publisher name, without which electron-updater skips the installer's signature check.
 */
export function checkFeed(value: unknown, options: FeedCheckOptions): UpdateFeed {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new FeedRefusedError('the update feed is not an object');
  const feed = value as Record<string, unknown>;
  for (const key of ['token', 'requestHeaders'])
    if (feed[key] != null) throw new FeedRefusedError(`the update feed carries "${key}"; credentials never ship`);
  if (options.platform === 'win32') {
    const names = Array.isArray(feed.publisherName) ? feed.publisherName : [feed.publisherName];
    if (!names.some(isText))
      throw new FeedRefusedError(
        'the update feed names no publisher (an unsigned Windows build): the installer signature could not be checked',
      );
  }
  if (feed.provider === 'github') {
    if (!isText(feed.owner) || !isText(feed.repo)) throw new FeedRefusedError('a GitHub feed needs owner and repo');
    if (feed.protocol != null && feed.protocol !== 'https')
      throw new FeedRefusedError(`a GitHub feed must use https, not ${String(feed.protocol)}`);
    if (feed.host != null && (!isText(feed.host) || /[/:@\s]/.test(feed.host.replace(/:\d+$/, ''))))
      throw new FeedRefusedError(`the GitHub host "${String(feed.host)}" is not a host name`);
    return feed as UpdateFeed;
  }
  if (feed.provider === 'generic') {
    if (!isText(feed.url)) throw new FeedRefusedError('a generic feed needs a url');
    let url: URL;
    try {
      url = new URL(feed.url);
    } catch {
      throw new FeedRefusedError(`the feed url "${feed.url}" is not a URL`);
    }
    if (url.username || url.password) throw new FeedRefusedError('the feed url carries credentials');
    const loopbackHttp = url.protocol === 'http:' && options.allowLoopbackHttp && isLoopbackAddress(url.hostname);
    if (url.protocol !== 'https:' && !loopbackHttp)
      throw new FeedRefusedError(`the feed url must be https://, not ${url.protocol}//`);
    return feed as UpdateFeed;
  }
  throw new FeedRefusedError(`the update provider "${String(feed.provider)}" is not supported (github or generic)`);
}

/** js-yaml, the YAML reader electron-updater itself reads app-update.yml with (it ships no types). */
const yaml = () => require('js-yaml') as { load(text: string): unknown };

/** Reads and checks the app-update.yml electron-builder wrote; throws why it cannot be used. */
export async function readFeedFile(file: string, options: FeedCheckOptions): Promise<UpdateFeed> {
  const stat = await fs.lstat(file).catch((error: NodeJS.ErrnoException) => {
    throw new FeedRefusedError(
      error.code === 'ENOENT' ? `${file} is missing (a build without build.publish)` : error.message,
    );
  });
  if (!stat.isFile() || stat.size > 64 * 1024) throw new FeedRefusedError(`${file} is not a small regular file`);
  let parsed: unknown;
  try {
    parsed = yaml().load(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new FeedRefusedError(`${file} does not parse: ${(error as Error).message}`);
  }
  return checkFeed(parsed, options);
}

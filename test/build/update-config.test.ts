// The update feed in package.json `build.publish` and what must never be configured around it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFeed } from '../../main/update-feed';

const root = path.resolve(__dirname, '..', '..');
const require = createRequire(__filename);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const config = pkg.build;
const { validateSchema } = require('app-builder-lib/out/util/config/schemaValidator') as {
  validateSchema: (schema: unknown, data: unknown, options?: { name?: string }) => void;
};
const scheme = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));

/** Every key/value pair anywhere in a JSON value. */
function* entries(value: unknown, at = ''): Generator<[string, unknown]> {
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value)) {
    yield [`${at}${key}`, inner];
    yield* entries(inner, `${at}${key}.`);
  }
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (entry.name.endsWith('.ts')) yield file;
  }
}

describe('the update feed (package.json build.publish)', () => {
  it('publishes to GitHub Releases (clawdesk/clawdesk), a feed the app accepts, beta files for stable releases too', () => {
    expect(config.publish).toEqual([{ provider: 'github', owner: 'clawdesk', repo: 'clawdesk' }]);
    // The first entry is the one electron-builder writes into app-update.yml.
    expect(checkFeed(config.publish[0], { platform: 'linux' })).toMatchObject({ provider: 'github' });
    expect(checkFeed(config.publish[0], { platform: 'darwin' })).toMatchObject({ provider: 'github' });
    // A beta user also gets stable releases newer than their beta.
    expect(config.generateUpdatesFilesForAllChannels).toBe(true);
    expect(() => validateSchema(scheme, structuredClone(config), { name: 'electron-builder' })).not.toThrow();
  });

  it('the generic feed shown in docs/desktop-app.md is valid for electron-builder and accepted by the app; its http form is not', () => {
    const doc = readFileSync(path.join(root, 'docs', 'desktop-app.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Updates'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const publish = JSON.parse(block!).publish;
    expect(publish).toEqual([{ provider: 'generic', url: expect.stringMatching(/^https:\/\//) }]);
    expect(() => validateSchema(scheme, { ...structuredClone(config), publish })).not.toThrow();
    expect(checkFeed(publish[0], { platform: 'linux' })).toMatchObject({ provider: 'generic' });
    const http = { ...publish[0], url: publish[0].url.replace('https:', 'http:') };
    expect(() => checkFeed(http, { platform: 'linux' })).toThrow(/must be https/);
  });

  it('no signature or version check is switched off, in the builder config or in the code', () => {
    for (const [key, value] of entries(config)) {
      expect(`${key}=${String(value)}`).not.toMatch(/verifyUpdateCodeSignature=false$/);
      expect(key).not.toMatch(/(^|\.)(forceDevUpdateConfig|disableWebInstaller|allowDowngrade)$/);
    }
    // electron-updater reads dev-app-update.yml only when forceDevUpdateConfig is on; none ships.
    expect(existsSync(path.join(root, 'dev-app-update.yml'))).toBe(false);
    const hatches =
      /\.(forceDevUpdateConfig|verifyUpdateCodeSignature|disableWebInstaller|isUserWithinRollout|isUpdateSupported|updateConfigPath)\s*=|\.allowDowngrade\s*=(?!\s*false\b)/;
    const offenders = [...sources(path.join(root, 'main')), ...sources(path.join(root, 'gateway'))].filter((file) =>
      hatches.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
    // The check above can fail.
    expect(hatches.test('updater.allowDowngrade = true')).toBe(true);
    expect(hatches.test('autoUpdater.forceDevUpdateConfig = true')).toBe(true);
    expect(hatches.test('target.allowDowngrade = false;')).toBe(false);
  });
});

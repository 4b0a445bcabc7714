import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { APP_ID } from '../../main/app-identity';

const root = path.resolve(__dirname, '..', '..');
const require = createRequire(__filename);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const config = pkg.build;

/** electron-builder's own validator and schema, exactly as `electron-builder` runs them (offline). */
const { validateSchema } = require('app-builder-lib/out/util/config/schemaValidator') as {
  validateSchema: (schema: unknown, data: unknown, options?: { name?: string }) => void;
};
const scheme = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));

function pngSize(file: string): { width: number; height: number } {
  const data = readFileSync(file);
  expect(data.subarray(1, 4).toString('ascii')).toBe('PNG');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

describe('electron-builder configuration (package.json "build")', () => {
  it("passes electron-builder's own JSON schema", () => {
    expect(() => validateSchema(scheme, structuredClone(config), { name: 'electron-builder' })).not.toThrow();
  });

  it('the validator really rejects a broken config (the check above can fail)', () => {
    expect(() =>
      validateSchema(scheme, { ...structuredClone(config), nsis: { perMachine: 'sometimes', bogus: 1 } }),
    ).toThrow(/Invalid configuration/);
  });

  it('turns the security fuses off/on as the issue requires', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    expect(config.asar).toBe(true);
  });

  it('Apple Silicon: an unsigned build still launches after the fuses are flipped (ad-hoc signature reset)', async () => {
    // The fuse config electron-builder itself hands to @electron/fuses (platformPackager.generateFuseConfig).
    const { PlatformPackager } = require('app-builder-lib') as {
      PlatformPackager: { prototype: { generateFuseConfig(fuses: unknown): Promise<Record<string, unknown>> } };
    };
    const fuseConfig = await PlatformPackager.prototype.generateFuseConfig.call({}, config.electronFuses);
    expect(fuseConfig.resetAdHocDarwinSignature).toBe(true);
  });

  it('AppImage: the static type-2 runtime (no libfuse2, which Ubuntu 24.04 lacks), as electron-builder reads toolsets', () => {
    expect(config.toolsets.appimage).toBe('1.0.3');
    // electron-builder's own table: "0.0.0" (the default) is the FUSE2 appimage-12 bundle, 1.0.x the static runtime.
    const { appimageChecksums } = require('app-builder-lib/out/toolsets/linux') as {
      appimageChecksums: Record<string, Record<string, string>>;
    };
    expect(Object.keys(appimageChecksums['0.0.0'])).toEqual(['appimage-12.0.1.7z']);
    expect(Object.keys(appimageChecksums[config.toolsets.appimage]).join()).toMatch(
      /^appimage-tools-runtime-\d+\.tar\.gz$/,
    );
    const target = readFileSync(require.resolve('app-builder-lib/out/targets/appimage/AppImageTarget.js'), 'utf8');
    expect(target).toMatch(
      /appimageTool == null \|\| appimageTool === "0\.0\.0"\) \{\s*updateInfo = await \(0, appImageUtil_1\.buildLegacyFuse2AppImage\)/,
    );
  });

  it('uses the same app id as the main process (Windows AppUserModelID for notifications)', () => {
    expect(config.appId).toBe(APP_ID);
  });

  it('macOS: no Dock icon, hardened runtime with entitlements that exist', () => {
    expect(config.mac.extendInfo.LSUIElement).toBe(true);
    // Notification actions (the approval notification's Deny) only show for alert-style notifications.
    expect(config.mac.extendInfo.NSUserNotificationAlertStyle).toBe('alert');
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.target).toContain('dmg');
    const entitlements = readFileSync(path.join(root, config.mac.entitlements), 'utf8');
    expect(entitlements).toContain('<plist');
    expect(entitlements).not.toContain('disable-library-validation');
    expect(pngSize(path.join(root, config.mac.icon)).width).toBeGreaterThanOrEqual(512);
  });

  it('Windows: per-user NSIS without elevation, with a Start-menu shortcut', () => {
    expect(config.win.target).toContain('nsis');
    expect(config.nsis.perMachine).toBe(false);
    expect(config.nsis.allowElevation).toBe(false);
    expect(config.nsis.createStartMenuShortcut).toBe(true);
    expect(config.win.requestedExecutionLevel).toBe('asInvoker');
    const ico = readFileSync(path.join(root, config.win.icon));
    expect(ico.readUInt16LE(2)).toBe(1);
    const count = ico.readUInt16LE(4);
    const sizes = Array.from({ length: count }, (_, i) => ico[6 + i * 16] || 256);
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48, 256]));
    // Each entry points at a decodable PNG.
    for (let i = 0; i < count; i++) {
      const offset = ico.readUInt32LE(6 + i * 16 + 12);
      expect(ico.subarray(offset + 1, offset + 4).toString('ascii')).toBe('PNG');
    }
  });

  it('Linux: AppImage and deb; the deb depends on libsecret and recommends an appindicator', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.deb.depends).toContain('libsecret-1-0');
    // Setting depends replaces electron-builder's defaults, so the GUI libraries must still be there.
    expect(config.deb.depends).toEqual(expect.arrayContaining(['libgtk-3-0', 'libnss3', 'libnotify4']));
    expect(config.deb.recommends.join(' ')).toMatch(/appindicator3-1/);
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      expect(pngSize(path.join(root, config.linux.icon, `${size}x${size}.png`))).toEqual({ width: size, height: size });
    }
  });

  it('packs the compiled main entry, preload and renderer, and no source maps', () => {
    expect(pkg.main).toBe('dist/main/index.js');
    expect(config.files).toEqual(
      expect.arrayContaining([
        'dist/main/**/*.js',
        'dist/common/**/*.js',
        'dist/preload/**',
        'dist/renderer/**',
        '!**/*.map',
      ]),
    );
    expect(pkg.scripts.build).toContain('scripts/build-ui.mjs');
    expect(pkg.scripts.dist).toMatch(/electron-builder/);
    expect(pkg.scripts.start).toBe('npm run build && node scripts/start-electron.mjs');
  });

  it('committed icons are small and decode', () => {
    const icon = readFileSync(path.join(root, 'build/icons/icon.png'));
    expect(icon.length).toBeLessThan(64 * 1024);
    const idat = icon.indexOf('IDAT');
    const length = icon.readUInt32BE(idat - 4);
    expect(inflateSync(icon.subarray(idat + 4, idat + 4 + length)).length).toBe((512 * 4 + 1) * 512);
    expect(existsSync(path.join(root, 'build/make-icons.mjs'))).toBe(true);
  });
});

import { mkdtempSync, readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { circle, drawTrayIcon, text } from '../../main/icon-art';
import { inflateSync } from 'node:zlib';
import { TrayController } from '../../main/tray-controller';
import { trayIcon, trayMenu, trayTooltip, type TrayActions, type TrayInputs } from '../../main/tray-model';
import { FakeTray, fakeImages } from './fakes';
import { trayInputs } from '../../main/tray';
import type { GatewayStatusView } from '../../main/gateway-controller';

const base: TrayInputs = {
  gateway: 'running',
  port: 18789,
  owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
  pendingApprovals: [],
  pendingPairings: [],
  startAtLogin: false,
};

function recordingActions() {
  const calls: string[] = [];
  const actions: TrayActions = {
    showApproval: (id) => calls.push(`approval:${id}`),
    showPairing: (id) => calls.push(`pairing:${id}`),
    openDashboard: () => calls.push('dashboard'),
    openControlUi: () => calls.push('control-ui'),
    startGateway: () => calls.push('start'),
    stopGateway: () => calls.push('stop'),
    restartGateway: () => calls.push('restart'),
    setStartAtLogin: (enabled) => calls.push(`login:${enabled}`),
    quit: () => calls.push('quit'),
  };
  return { calls, actions };
}

describe('tray model', () => {
  it('icon states: running, attached, approvals with count, pairing, stopped/degraded, error', () => {
    expect(trayIcon(base)).toEqual({ state: 'running' });
    expect(trayIcon({ ...base, gateway: 'attached' })).toEqual({ state: 'attached' });
    expect(
      trayIcon({
        ...base,
        pendingApprovals: [
          { id: 'a', summary: 'ls' },
          { id: 'b', summary: 'rm' },
        ],
      }),
    ).toEqual({ state: 'approvals', count: 2 });
    expect(trayIcon({ ...base, pendingPairings: [{ requestId: 'p', summary: 'Laptop' }] })).toEqual({
      state: 'pairing',
      count: 1,
    });
    expect(trayIcon({ ...base, gateway: 'stopped' })).toEqual({ state: 'stopped' });
    expect(trayIcon({ ...base, gateway: 'degraded' })).toEqual({ state: 'stopped' });
    // An error outranks everything; approvals outrank pairing.
    expect(trayIcon({ ...base, gateway: 'error', pendingApprovals: [{ id: 'a', summary: 'x' }] })).toEqual({
      state: 'error',
    });
    expect(
      trayIcon({
        ...base,
        pendingApprovals: [{ id: 'a', summary: 'x' }],
        pendingPairings: [{ requestId: 'p', summary: 'y' }],
      }).state,
    ).toBe('approvals');
  });

  it('tooltip is one short line', () => {
    expect(trayTooltip(base)).toBe('Clawdesk: Gateway running on port 18789');
    const busy = trayTooltip({
      ...base,
      gateway: 'error',
      error: `listen EADDRINUSE\n${'x'.repeat(300)}`,
      pendingApprovals: [{ id: 'a', summary: 'ls' }],
    });
    expect(busy).not.toMatch(/\n/);
    expect(busy.length).toBeLessThanOrEqual(120);
  });

  it('menu: status, pending approvals and pairings, dashboard, gateway controls, start at login, quit', () => {
    const { calls, actions } = recordingActions();
    const tray = new FakeTray();
    tray.template = trayMenu(
      {
        ...base,
        pendingApprovals: [{ id: 'a1', summary: 'git push' }],
        pendingPairings: [{ requestId: 'p1', summary: 'Pixel 9' }],
      },
      actions,
    );
    expect(tray.template.filter((i) => i.label).map((i) => i.label)).toEqual([
      'Gateway running on port 18789',
      'Pending approvals (1)',
      'Pending pairings (1)',
      'Open dashboard',
      'Start gateway',
      'Stop gateway',
      'Restart gateway',
      'Start at login',
      'Quit Clawdesk',
    ]);
    tray.click('git push');
    tray.click('Pixel 9');
    tray.click('dashboard');
    tray.click('stop');
    tray.click('restart');
    tray.click('login', true);
    tray.click('quit');
    expect(calls).toEqual(['approval:a1', 'pairing:p1', 'dashboard', 'stop', 'restart', 'login:true', 'quit']);
    expect(() => tray.click('start')).toThrow(/disabled/);
  });

  it('attached to another process: shows the owner and never offers to start/stop a gateway', () => {
    const { actions } = recordingActions();
    const tray = new FakeTray();
    tray.template = trayMenu(
      {
        ...base,
        gateway: 'attached',
        owner: { kind: 'other-process', pid: 4242, description: 'openclaw-gateway (PID 4242)' },
      },
      actions,
    );
    expect(tray.template.find((i) => i.id === 'owner')?.label).toBe('Owner: openclaw-gateway (PID 4242)');
    for (const id of ['start', 'stop', 'restart']) expect(() => tray.click(id)).toThrow(/disabled/);
  });

  it('offers OpenClaw’s Control UI only in an OpenClaw mode with its gateway up', () => {
    const { calls, actions } = recordingActions();
    const openclaw = (gateway: GatewayStatusView['state'], mode: GatewayStatusView['mode']) =>
      trayInputs({
        gateway: { state: gateway, port: 18789, owner: base.owner, mode, modeLabel: mode, startedByClawdesk: true },
        approvals: [],
        pairings: [],
        startAtLogin: false,
      });
    const tray = new FakeTray();
    tray.template = trayMenu(openclaw('running', 'openclaw-supervised'), actions);
    tray.click('control-ui');
    expect(calls).toEqual(['control-ui']);
    tray.template = trayMenu(openclaw('attached', 'openclaw-external'), actions);
    expect(tray.template.some((i) => i.id === 'control-ui')).toBe(true);
    for (const [state, mode] of [
      ['running', 'clawdesk-builtin'],
      ['stopped', 'openclaw-supervised'],
      ['error', 'openclaw-supervised'],
    ] as const)
      expect(trayMenu(openclaw(state, mode), actions).some((i) => i.id === 'control-ui')).toBe(false);
  });
});

describe('TrayController', () => {
  const { actions } = recordingActions();

  it('macOS: template images at 1x and 2x, the count in the title', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'darwin',
      iconCacheDir: '/nonexistent',
      actions,
    });
    controller.update({
      ...base,
      pendingApprovals: [
        { id: 'a', summary: 'x' },
        { id: 'b', summary: 'y' },
        { id: 'c', summary: 'z' },
      ],
    });
    const image = images.made[0];
    expect(image.template).toBe(true);
    expect(image.representations.map((r) => r.scaleFactor)).toEqual([2]);
    expect(tray.title).toBe('3');
    expect(tray.tooltip).toContain('3 approvals waiting');
  });

  describe('macOS template badge: drawn in alpha (macOS uses only the alpha channel of a template image)', () => {
    /** The PNG as written to the tray, decoded: RGBA rows (the encoder writes filter 0 only, which is checked). */
    function decode(png: Buffer): { width: number; rgba: Uint8Array } {
      const width = png.readUInt32BE(16);
      const idat = png.indexOf('IDAT');
      const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
      const rgba = new Uint8Array(width * width * 4);
      for (let y = 0; y < width; y++) {
        expect(raw[y * (width * 4 + 1)]).toBe(0);
        rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
      }
      return { width, rgba };
    }
    const alpha = (size: number, label: { state: 'approvals' | 'error'; count?: number }) => {
      const { width, rgba } = decode(drawTrayIcon(size, { ...label, template: true }).toPng());
      return { width, a: rgba.filter((_, i) => i % 4 === 3), rgb: rgba.filter((_, i) => i % 4 !== 3) };
    };

    it('no colour at all: every pixel is black, whatever its alpha', () => {
      for (const size of [16, 32])
        expect(alpha(size, { state: 'approvals', count: 3 }).rgb.every((v) => v === 0)).toBe(true);
    });

    it('the label is a hole in the disc: glyph pixels clear, the rest of the disc opaque (32 px, the 2x image)', () => {
      for (const [label, spec] of [
        ['3', { state: 'approvals', count: 3 }],
        ['9+', { state: 'approvals', count: 12 }],
        ['!', { state: 'error' }],
      ] as const) {
        const { width, a } = alpha(32, spec);
        const glyph = text(label, 0.72, 0.72, 0.3);
        const disc = circle(0.72, 0.72, 0.26);
        let holes = 0;
        let solid = 0;
        for (let y = 0; y < width; y++) {
          for (let x = 0; x < width; x++) {
            const samples = [0.1, 0.5, 0.9].flatMap((dy) =>
              [0.1, 0.5, 0.9].map((dx) => [(x + dx) / width, (y + dy) / width] as const),
            );
            if (!samples.every(([u, v]) => disc(u, v))) continue;
            const inGlyph = samples.filter(([u, v]) => glyph(u, v)).length;
            if (inGlyph === samples.length) {
              expect(a[y * width + x], `${label} glyph pixel ${x},${y}`).toBeLessThan(40);
              holes++;
            } else if (inGlyph === 0) {
              expect(a[y * width + x], `${label} disc pixel ${x},${y}`).toBeGreaterThan(215);
              solid++;
            }
          }
        }
        expect(holes, label).toBeGreaterThanOrEqual(label === '!' ? 2 : 4);
        expect(solid, label).toBeGreaterThanOrEqual(20);
      }
    });

    it('different counts give different alpha masks at 1x and 2x (a label in colour alone would not)', () => {
      for (const size of [16, 32]) {
        const three = alpha(size, { state: 'approvals', count: 3 }).a;
        const seven = alpha(size, { state: 'approvals', count: 7 }).a;
        expect(
          three.some((v, i) => Math.abs(v - seven[i]) > 128),
          `${size} px`,
        ).toBe(true);
      }
    });
  });

  it('macOS: the tray gets the alpha-drawn badge', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'darwin',
      iconCacheDir: '/nonexistent',
      actions,
    }).update({ ...base, pendingApprovals: [{ id: 'a', summary: 'x' }] });
    const made = images.made[0];
    expect(made.source.buffer!.equals(drawTrayIcon(16, { state: 'approvals', count: 1, template: true }).toPng())).toBe(
      true,
    );
    expect(
      made.representations[0].buffer!.equals(
        drawTrayIcon(32, { state: 'approvals', count: 1, template: true }).toPng(),
      ),
    ).toBe(true);
  });

  it('Windows: a multi-size .ico read from a path', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-tray-'));
    const tray = new FakeTray();
    const images = fakeImages();
    new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'win32',
      iconCacheDir: dir,
      actions,
    }).update({ ...base, gateway: 'attached' });
    const file = images.made[0].source.path!;
    expect(path.dirname(file)).toBe(dir);
    const ico = readFileSync(file);
    const count = ico.readUInt16LE(4);
    expect(Array.from({ length: count }, (_, i) => ico[6 + i * 16])).toEqual([16, 20, 24, 32, 40, 48]);
  });

  it('Linux: PNG; redraws only when the icon state changes', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'linux',
      iconCacheDir: '/nonexistent',
      actions,
    });
    controller.update(base);
    controller.update({ ...base, startAtLogin: true });
    expect(tray.images).toHaveLength(1);
    controller.update({ ...base, gateway: 'error', error: 'boom' });
    expect(tray.images).toHaveLength(2);
    expect(images.made[1].source.buffer!.subarray(1, 4).toString()).toBe('PNG');
    expect(tray.template.find((i) => i.id === 'login')?.checked).toBe(false);
  });

  it('writes every tray state as an artifact for review', () => {
    const out = path.join(__dirname, '..', '..', 'test-artifacts', 'tray');
    mkdirSync(out, { recursive: true });
    for (const spec of [
      { state: 'running' },
      { state: 'attached' },
      { state: 'approvals', count: 3 },
      { state: 'approvals', count: 12 },
      { state: 'pairing', count: 1 },
      { state: 'stopped' },
      { state: 'error' },
    ] as const) {
      writeFileSync(
        path.join(out, `${spec.state}-${'count' in spec ? spec.count : 0}.png`),
        drawTrayIcon(64, spec).toPng(),
      );
    }
    expect(readdirSync(out).length).toBeGreaterThanOrEqual(7);
  });

  it('a burst of 100 approvals: the picture is drawn once per badge (1…9, 9+), the title keeps the exact count', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'darwin',
      iconCacheDir: '/nonexistent',
      actions,
    });
    const pending: TrayInputs['pendingApprovals'] = [];
    for (let i = 1; i <= 100; i++) {
      pending.push({ id: `a${i}`, summary: `echo ${i}` });
      controller.update({ ...base, pendingApprovals: [...pending] });
      expect(tray.title).toBe(String(i));
    }
    expect(tray.images).toHaveLength(10);
    expect(tray.tooltip).toContain('100 approvals waiting');
  });

  it('every picture is drawn ahead when idle, one per turn, so a new approval only swaps a ready image', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const turns: Array<() => void> = [];
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'linux',
      iconCacheDir: '/nonexistent',
      actions,
      schedule: (work) => turns.push(work),
    });
    controller.update(base);
    expect(images.made).toHaveLength(1);
    // One picture per turn: the event loop is never held for the whole set.
    let steps = 0;
    while (turns.length > 0) {
      const before = images.made.length;
      turns.shift()!();
      expect(images.made.length - before).toBeLessThanOrEqual(1);
      steps++;
    }
    // Ten approval badges (1…9, 9+), ten pairing badges, running, attached, stopped, error.
    expect(images.made).toHaveLength(24);
    expect(steps).toBe(24);
    for (const count of [1, 3, 12]) {
      controller.update({
        ...base,
        pendingApprovals: Array.from({ length: count }, (_, i) => ({ id: `a${i}`, summary: 'x' })),
      });
    }
    expect(images.made).toHaveLength(24);
    expect(tray.images).toHaveLength(4);
    expect(new Set(tray.images).size).toBe(4);
  });

  it('Windows without a writable icon cache: the tray still shows the state, as a PNG, and says why in the log', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const logged: string[] = [];
    const iconCacheDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-tray-'));
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images,
      platform: 'win32',
      iconCacheDir,
      actions,
      schedule: () => undefined,
      log: (level, message) => logged.push(`${level} ${message}`),
    });
    controller.update(base);
    expect(images.made[0].source.path).toMatch(/\.ico$/);
    // The cache directory becomes a file: every later .ico write fails.
    rmSync(iconCacheDir, { recursive: true });
    writeFileSync(iconCacheDir, 'not a directory');
    controller.update({ ...base, gateway: 'error', error: 'boom' });
    expect(images.made[1].source.buffer!.subarray(1, 4).toString()).toBe('PNG');
    expect(tray.images).toHaveLength(2);
    expect(logged.join('\n')).toContain(`warn tray icon cache ${iconCacheDir}`);
  });

  it('Windows: an .ico Electron cannot load (an empty image) falls back to the PNG too', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const logged: string[] = [];
    new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images: { ...images, createFromPath: () => ({ isEmpty: () => true }) as unknown as Electron.NativeImage },
      platform: 'win32',
      iconCacheDir: mkdtempSync(path.join(os.tmpdir(), 'clawdesk-tray-')),
      actions,
      schedule: () => undefined,
      log: (level, message) => logged.push(`${level} ${message}`),
    }).update(base);
    expect(images.made).toHaveLength(1);
    expect(images.made[0].source.buffer!.subarray(1, 4).toString()).toBe('PNG');
    expect(logged.join('\n')).toMatch(/could not be loaded/);
  });

  it('drawing ahead stops quietly on an error: the picture is drawn (and fails visibly) only when shown', () => {
    const tray = new FakeTray();
    const images = fakeImages();
    const turns: Array<() => void> = [];
    const controller = new TrayController({
      tray: tray.api,
      menu: tray.menu,
      images: {
        ...images,
        createFromBuffer: (buffer, options) => {
          if (images.made.length > 0) throw new Error('out of images');
          return images.createFromBuffer(buffer, options);
        },
      },
      platform: 'linux',
      iconCacheDir: '/nonexistent',
      actions,
      schedule: (work) => turns.push(work),
    });
    controller.update(base);
    expect(turns).toHaveLength(1);
    expect(() => turns.shift()!()).not.toThrow();
    expect(turns).toHaveLength(0);
    expect(() => controller.update({ ...base, gateway: 'error', error: 'boom' })).toThrow('out of images');
  });

  it('problems to fix (notices) are counted in the tooltip and one item opens the dashboard; none, no item', () => {
    const { calls, actions: recorded } = recordingActions();
    expect(trayMenu(base, recorded).some((i) => i.id === 'notices')).toBe(false);
    expect(trayTooltip(base)).not.toContain('problem');
    const menu = trayMenu({ ...base, notices: 2 }, recorded);
    const item = menu.find((i) => i.id === 'notices')!;
    expect(item.label).toBe('2 problems to fix: open the dashboard');
    (item.click as () => void)();
    expect(calls).toContain('dashboard');
    expect(trayTooltip({ ...base, notices: 1 })).toBe('Clawdesk: Gateway running on port 18789 · 1 problem to fix');
  });

  it('the tray lists ten waiting approvals at most, oldest first; the rest open the dashboard', () => {
    const { calls, actions: recorded } = recordingActions();
    const pendingApprovals = Array.from({ length: 25 }, (_, i) => ({ id: `a${i + 1}`, summary: `echo ${i + 1}` }));
    const menu = trayMenu({ ...base, pendingApprovals }, recorded);
    const item = menu.find((m) => m.id === 'approvals')!;
    expect(item.label).toBe('Pending approvals (25)');
    const sub = item.submenu as Electron.MenuItemConstructorOptions[];
    expect(sub.slice(0, 10).map((m) => m.label)).toEqual(pendingApprovals.slice(0, 10).map((a) => a.summary));
    expect(sub[10].type).toBe('separator');
    expect(sub[11].label).toBe('15 more waiting: open the dashboard');
    sub[11].click?.({} as Electron.MenuItem, undefined, {});
    sub[0].click?.({} as Electron.MenuItem, undefined, {});
    expect(calls).toEqual(['dashboard', 'approval:a1']);
    // Ten or fewer: all of them, nothing more.
    const few = trayMenu({ ...base, pendingApprovals: pendingApprovals.slice(0, 10) }, recorded);
    expect((few.find((m) => m.id === 'approvals')!.submenu as unknown[]).length).toBe(10);
  });
});

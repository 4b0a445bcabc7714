import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badgeLabel, drawTrayIcon, encodeIco, TRAY_ICO_SIZES, type TrayIconSpec } from './icon-art';
import type { MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';
import type { MenuFactory, NativeImageFactory, NativeImageLike, TrayLike } from './electron-facades';
import { trayIcon, trayMenu, trayTooltip, type TrayActions, type TrayInputs } from './tray-model';

export interface TrayControllerOptions {
  tray: TrayLike;
  menu: MenuFactory;
  images: NativeImageFactory;
  platform: NodeJS.Platform;
  /** Where Windows .ico files are written (Tray on Windows reads multi-size icons from a path). */
  iconCacheDir: string;
  actions: TrayActions;
  /**
   * Runs one piece of idle work on a later turn of the event loop (setImmediate unless a test steps it): after
   * the first update, the pictures a burst can need are drawn ahead, one per turn.
   */
  schedule?: (work: () => void) => void;
  log?: MainLog;
  /** The menu and tooltip in the person's language (main/main-i18n.ts); English when absent. */
  translate?: MainTranslate;
}

/** Every picture the tray can show: each state, and each badge of the approval and pairing states ("9+" last). */
const ALL_ICON_SPECS: readonly TrayIconSpec[] = [
  ...Array.from({ length: 10 }, (_, i) => ({ state: 'approvals' as const, count: i + 1 })),
  ...Array.from({ length: 10 }, (_, i) => ({ state: 'pairing' as const, count: i + 1 })),
  { state: 'running' },
  { state: 'attached' },
  { state: 'stopped' },
  { state: 'error' },
];

/** What is drawn: 10 and 11 waiting are the same "9+" picture. */
const iconKey = (spec: TrayIconSpec) => `${spec.state}:${badgeLabel(spec) ?? ''}`;

/**
 * Applies the tray model to the real tray: template images on macOS (the count goes in the title next to
 * the icon), multi-size .ico on Windows, PNG on Linux. The tray is given a new image only when the picture
 * changes, and each picture is drawn once: drawing one costs milliseconds (a Windows .ico several sizes), and the
 * first approval of a burst must not wait for it (issue 13's hand-off target), so they are drawn ahead when idle.
 */
export class TrayController {
  private readonly drawn = new Map<string, NativeImageLike>();
  private prewarming = false;
  private lastIconKey?: string;
  private lastTooltip?: string;
  private lastTitle?: string;

  constructor(private readonly options: TrayControllerOptions) {}

  update(inputs: TrayInputs): void {
    const { tray, menu, actions } = this.options;
    const spec = trayIcon(inputs);
    const key = iconKey(spec);
    if (key !== this.lastIconKey) {
      tray.setImage(this.picture(spec));
      this.lastIconKey = key;
    }
    if (this.options.platform === 'darwin') {
      // The exact count goes in the title beside the icon.
      const title = spec.count ? String(spec.count) : '';
      if (title !== this.lastTitle) {
        tray.setTitle(title);
        this.lastTitle = title;
      }
    }
    const tooltip = trayTooltip(inputs, this.options.translate);
    if (tooltip !== this.lastTooltip) {
      tray.setToolTip(tooltip);
      this.lastTooltip = tooltip;
    }
    tray.setContextMenu(menu.buildFromTemplate(trayMenu(inputs, actions, this.options.translate)));
    this.prewarm();
  }

  /** The picture for `spec`, drawn on first use and kept. */
  picture(spec: TrayIconSpec): NativeImageLike {
    const key = iconKey(spec);
    let image = this.drawn.get(key);
    if (!image) {
      image = this.image(spec);
      this.drawn.set(key, image);
    }
    return image;
  }

  private prewarm(): void {
    if (this.prewarming) return;
    this.prewarming = true;
    const schedule = this.options.schedule ?? ((work) => void setImmediate(work));
    const queue = ALL_ICON_SPECS.filter((spec) => !this.drawn.has(iconKey(spec)));
    const step = () => {
      const spec = queue.shift();
      if (!spec) return;
      try {
        this.picture(spec);
      } catch {
        // Drawing ahead is only a head start: a picture that fails here is drawn (and fails visibly) when shown.
        return;
      }
      schedule(step);
    };
    schedule(step);
  }

  image(spec: TrayIconSpec): NativeImageLike {
    const { images, platform } = this.options;
    if (platform === 'darwin') {
      const image = images.createFromBuffer(drawTrayIcon(16, { ...spec, template: true }).toPng(), { scaleFactor: 1 });
      image.addRepresentation({ scaleFactor: 2, buffer: drawTrayIcon(32, { ...spec, template: true }).toPng() });
      image.setTemplateImage(true);
      return image;
    }
    if (platform === 'win32') {
      const file = path.join(this.options.iconCacheDir, `tray-${spec.state}-${spec.count ?? 0}.ico`);
      try {
        mkdirSync(this.options.iconCacheDir, { recursive: true });
        writeFileSync(file, encodeIco(TRAY_ICO_SIZES.map((size) => ({ size, png: drawTrayIcon(size, spec).toPng() }))));
        const image = images.createFromPath(file);
        // Electron answers an unreadable file (removed meanwhile, blocked by antivirus) with an empty image.
        if (!image.isEmpty()) return image;
        throw new Error(`${file} could not be loaded`);
      } catch (error) {
        // No writable cache (a full disk, a file in its place): one PNG size still shows the state, less crisply.
        this.options.log?.('warn', `tray icon cache ${this.options.iconCacheDir}: ${(error as Error).message}`);
      }
    }
    return images.createFromBuffer(drawTrayIcon(32, spec).toPng());
  }
}

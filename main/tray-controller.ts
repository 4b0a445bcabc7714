import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badgeLabel, drawTrayIcon, encodeIco, TRAY_ICO_SIZES, type TrayIconSpec } from './icon-art';
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
}

/**
 * Applies the tray model to the real tray: template images on macOS (the count goes in the title next to
 * the icon), multi-size .ico on Windows, PNG on Linux. Images are redrawn only when the picture changes.
 */
export class TrayController {
  private lastIconKey?: string;
  private lastTooltip?: string;
  private lastTitle?: string;

  constructor(private readonly options: TrayControllerOptions) {}

  update(inputs: TrayInputs): void {
    const { tray, menu, actions } = this.options;
    const spec = trayIcon(inputs);
    // Keyed by what is drawn: 10 and 11 waiting are the same "9+" picture, so a burst does not redraw it each time.
    const key = JSON.stringify({ state: spec.state, badge: badgeLabel(spec) });
    if (key !== this.lastIconKey) {
      tray.setImage(this.image(spec));
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
    const tooltip = trayTooltip(inputs);
    if (tooltip !== this.lastTooltip) {
      tray.setToolTip(tooltip);
      this.lastTooltip = tooltip;
    }
    tray.setContextMenu(menu.buildFromTemplate(trayMenu(inputs, actions)));
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
      mkdirSync(this.options.iconCacheDir, { recursive: true });
      const file = path.join(this.options.iconCacheDir, `tray-${spec.state}-${spec.count ?? 0}.ico`);
      writeFileSync(file, encodeIco(TRAY_ICO_SIZES.map((size) => ({ size, png: drawTrayIcon(size, spec).toPng() }))));
      return images.createFromPath(file);
    }
    return images.createFromBuffer(drawTrayIcon(32, spec).toPng());
  }
}

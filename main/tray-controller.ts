import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { drawTrayIcon, encodeIco, TRAY_ICO_SIZES, type TrayIconSpec } from './icon-art';
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
 * the icon), multi-size .ico on Windows, PNG on Linux. Images are redrawn only when the icon state changes.
 */
export class TrayController {
  private lastIconKey?: string;
  private lastTooltip?: string;

  constructor(private readonly options: TrayControllerOptions) {}

  update(inputs: TrayInputs): void {
    const { tray, menu, actions } = this.options;
    const spec = trayIcon(inputs);
    const key = JSON.stringify(spec);
    if (key !== this.lastIconKey) {
      tray.setImage(this.image(spec));
      if (this.options.platform === 'darwin') tray.setTitle(spec.count ? String(spec.count) : '');
      this.lastIconKey = key;
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

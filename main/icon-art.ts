import { deflateSync } from 'node:zlib';

/**
 * Clawdesk's icons, drawn in code: the installers' app icons (written by build/make-icons.mjs) and the tray
 * icons (drawn at runtime because the badge carries a live count). No image tooling is needed anywhere.
 */

export type Rgba = readonly [number, number, number, number];

/** A shape in unit coordinates (0..1 across the icon): true where the point is inside. */
type Shape = (x: number, y: number) => boolean;

const SUPERSAMPLE = 4;

export class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 4);
  }

  /** Paints `shape` in `color` with 4×4 supersampled coverage, composited "over" what is there. */
  fill(shape: Shape, color: Rgba): void {
    const step = 1 / SUPERSAMPLE;
    for (let py = 0; py < this.height; py++) {
      for (let px = 0; px < this.width; px++) {
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            if (shape((px + (sx + 0.5) * step) / this.width, (py + (sy + 0.5) * step) / this.height)) hits++;
          }
        }
        if (hits === 0) continue;
        this.blend(px, py, color, hits / (SUPERSAMPLE * SUPERSAMPLE));
      }
    }
  }

  /** Removes `shape` ("destination-out"): alpha drops by the coverage, so the hole shows in any tint. */
  erase(shape: Shape): void {
    const step = 1 / SUPERSAMPLE;
    for (let py = 0; py < this.height; py++) {
      for (let px = 0; px < this.width; px++) {
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            if (shape((px + (sx + 0.5) * step) / this.width, (py + (sy + 0.5) * step) / this.height)) hits++;
          }
        }
        if (hits === 0) continue;
        const i = (py * this.width + px) * 4;
        this.pixels[i + 3] = Math.round(this.pixels[i + 3] * (1 - hits / (SUPERSAMPLE * SUPERSAMPLE)));
        if (this.pixels[i + 3] === 0) this.pixels.fill(0, i, i + 3);
      }
    }
  }

  private blend(px: number, py: number, [r, g, b, a]: Rgba, coverage: number): void {
    const i = (py * this.width + px) * 4;
    const srcA = (a / 255) * coverage;
    const dstA = this.pixels[i + 3] / 255;
    const outA = srcA + dstA * (1 - srcA);
    if (outA === 0) return;
    const mix = (src: number, dst: number) => Math.round((src * srcA + dst * dstA * (1 - srcA)) / outA);
    this.pixels[i] = mix(r, this.pixels[i]);
    this.pixels[i + 1] = mix(g, this.pixels[i + 1]);
    this.pixels[i + 2] = mix(b, this.pixels[i + 2]);
    this.pixels[i + 3] = Math.round(outA * 255);
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.pixels);
  }
}

export const circle =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

/** A stroke with round caps from (x1,y1) to (x2,y2), half-width r. */
export const capsule =
  (x1: number, y1: number, x2: number, y2: number, r: number): Shape =>
  (x, y) => {
    const dx = x2 - x1;
    const dy = y2 - y1;
    const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
    return (x - (x1 + t * dx)) ** 2 + (y - (y1 + t * dy)) ** 2 <= r * r;
  };

export const roundedRect =
  (x0: number, y0: number, x1: number, y1: number, radius: number): Shape =>
  (x, y) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    const cx = Math.max(x0 + radius, Math.min(x1 - radius, x));
    const cy = Math.max(y0 + radius, Math.min(y1 - radius, y));
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius;
  };

/** 3×5 bitmap glyphs for the badge count. */
const GLYPHS: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
  '+': ['000', '010', '111', '010', '000'],
  '!': ['010', '010', '010', '000', '010'],
};

/** Text centred at (cx, cy), `h` tall, from the bitmap glyphs. */
export function text(value: string, cx: number, cy: number, h: number): Shape {
  const cell = h / 5;
  const glyphs = [...value].map((ch) => GLYPHS[ch]).filter((g): g is string[] => g !== undefined);
  const width = glyphs.length * 3 * cell + Math.max(0, glyphs.length - 1) * cell;
  const left = cx - width / 2;
  const top = cy - h / 2;
  return (x, y) => {
    const row = Math.floor((y - top) / cell);
    if (row < 0 || row > 4) return false;
    const col = Math.floor((x - left) / cell);
    if (col < 0) return false;
    const glyph = glyphs[Math.floor(col / 4)];
    const within = col % 4;
    return glyph !== undefined && within < 3 && glyph[row][within] === '1';
  };
}

const CLAW_STROKES: Array<[number, number, number, number]> = [
  [0.36, 0.2, 0.22, 0.8],
  [0.54, 0.2, 0.4, 0.8],
  [0.72, 0.2, 0.58, 0.8],
];

function claw(canvas: Canvas, color: Rgba, scale = 1, offset = 0, width = 0.065): void {
  for (const [x1, y1, x2, y2] of CLAW_STROKES) {
    canvas.fill(
      capsule(offset + x1 * scale, offset + y1 * scale, offset + x2 * scale, offset + y2 * scale, width),
      color,
    );
  }
}

const SLATE: Rgba = [31, 41, 55, 255];
const ORANGE: Rgba = [249, 115, 22, 255];
const WHITE: Rgba = [255, 255, 255, 255];

/** The application icon: orange claw marks on a slate rounded square. */
export function drawAppIcon(size: number): Canvas {
  const canvas = new Canvas(size, size);
  canvas.fill(roundedRect(0.04, 0.04, 0.96, 0.96, 0.2), SLATE);
  claw(canvas, ORANGE, 0.8, 0.1, 0.06);
  return canvas;
}

export type TrayIconState = 'running' | 'attached' | 'approvals' | 'pairing' | 'stopped' | 'error';

export const TRAY_STATE_COLORS: Record<TrayIconState, Rgba> = {
  running: [22, 163, 74, 255],
  attached: [37, 99, 235, 255],
  approvals: [234, 88, 12, 255],
  pairing: [147, 51, 234, 255],
  stopped: [107, 114, 128, 255],
  error: [220, 38, 38, 255],
};

export interface TrayIconSpec {
  state: TrayIconState;
  /** Shown in the badge (approvals/pairing); "9+" above nine. */
  count?: number;
  /** macOS template image: black on transparent, the state drawn by shape only (the OS tints it). */
  template?: boolean;
}

/** The badge label: a count up to 9, "9+" above, "!" for error, nothing otherwise. */
export function badgeLabel(spec: TrayIconSpec): string | undefined {
  if (spec.state === 'error') return '!';
  if ((spec.state === 'approvals' || spec.state === 'pairing') && spec.count !== undefined && spec.count > 0) {
    return spec.count > 9 ? '9+' : String(spec.count);
  }
  return undefined;
}

export function drawTrayIcon(size: number, spec: TrayIconSpec): Canvas {
  const canvas = new Canvas(size, size);
  const ink: Rgba = spec.template ? [0, 0, 0, 255] : [55, 65, 81, 255];
  claw(canvas, spec.state === 'stopped' && !spec.template ? [156, 163, 175, 255] : ink, 0.9, 0, 0.08);
  const label = badgeLabel(spec);
  const badgeColor: Rgba = spec.template ? [0, 0, 0, 255] : TRAY_STATE_COLORS[spec.state];
  if (label !== undefined && spec.template) {
    // A template image is only an alpha mask (macOS tints it for the menu bar, light or dark): colour carries
    // nothing. The badge is a solid disc cut out from the claw by a clear ring, and its label is a hole in the disc.
    canvas.erase(circle(0.72, 0.72, 0.34));
    canvas.fill(circle(0.72, 0.72, 0.28), badgeColor);
    canvas.erase(text(label, 0.72, 0.72, 0.3));
  } else if (label !== undefined) {
    canvas.fill(circle(0.72, 0.72, 0.28), badgeColor);
    canvas.fill(text(label, 0.72, 0.72, 0.3), WHITE);
  } else if (spec.state === 'stopped') {
    canvas.fill(capsule(0.1, 0.9, 0.9, 0.1, 0.06), badgeColor);
  } else {
    canvas.fill(circle(0.78, 0.78, 0.18), badgeColor);
  }
  return canvas;
}

// --- PNG and ICO encoding -------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** RGBA, 8 bits per channel, no filtering (small icons; deflate does the work). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 6;
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0;
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** An .ico holding PNG images (Windows Vista and later read these), one per size. */
export function encodeIco(images: Array<{ size: number; png: Buffer }>): Buffer {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, index) => {
    const entry = 6 + index * 16;
    header[entry] = size >= 256 ? 0 : size;
    header[entry + 1] = size >= 256 ? 0 : size;
    header.writeUInt16LE(1, entry + 4);
    header.writeUInt16LE(32, entry + 6);
    header.writeUInt32LE(png.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map((image) => image.png)]);
}

export const TRAY_ICO_SIZES = [16, 20, 24, 32, 40, 48] as const;

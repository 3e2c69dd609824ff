// A small RGB canvas for charts: filled rectangles, thick line segments with round ends, discs, and text in the
// 9x15 bitmap font (horizontal, or turned 90 degrees for a y-axis title). Everything is drawn at SCALE times the
// output size and box-filtered down, which anti-aliases lines and discs; font pixels become SCALE x SCALE blocks,
// so text comes out exactly as the bitmap font draws it. Coordinates are output pixels (fractions allowed).
import { FIRST_CHAR, FONT_BOLD, FONT_REGULAR, GLYPH_DESCENT, GLYPH_HEIGHT, GLYPH_WIDTH } from './font9x15';

export type Rgb = readonly [number, number, number];

const SCALE = 3;

export interface TextOptions {
  color: Rgb;
  bold?: boolean;
  /** Where x is: the text's left edge, centre or right edge. */
  align?: 'left' | 'center' | 'right';
  /** Turned 90 degrees counter-clockwise (reads bottom to top), centred on (x, y). */
  vertical?: boolean;
}

export class Raster {
  readonly width: number;
  readonly height: number;
  private readonly w: number;
  private readonly h: number;
  private readonly px: Uint8Array;

  constructor(width: number, height: number, background: Rgb) {
    this.width = width;
    this.height = height;
    this.w = width * SCALE;
    this.h = height * SCALE;
    this.px = new Uint8Array(this.w * this.h * 3);
    for (let i = 0; i < this.w * this.h; i++) this.px.set(background, i * 3);
  }

  private set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    this.px.set(c, (y * this.w + x) * 3);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.round(x * SCALE), y0 = Math.round(y * SCALE), x1 = Math.round((x + w) * SCALE), y1 = Math.round((y + h) * SCALE);
    for (let yy = Math.max(0, y0); yy < Math.min(this.h, y1); yy++) for (let xx = Math.max(0, x0); xx < Math.min(this.w, x1); xx++) this.set(xx, yy, c);
  }

  /** A filled disc of radius r (output pixels). */
  disc(cx: number, cy: number, r: number, c: Rgb): void {
    const R = r * SCALE, X = cx * SCALE, Y = cy * SCALE;
    for (let yy = Math.floor(Y - R); yy <= Math.ceil(Y + R); yy++) {
      for (let xx = Math.floor(X - R); xx <= Math.ceil(X + R); xx++) {
        if ((xx + 0.5 - X) ** 2 + (yy + 0.5 - Y) ** 2 <= R * R) this.set(xx, yy, c);
      }
    }
  }

  /** A segment `width` output pixels thick with round ends. */
  line(x0: number, y0: number, x1: number, y1: number, width: number, c: Rgb): void {
    const r = (width * SCALE) / 2;
    const [X0, Y0, X1, Y1] = [x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE];
    const dx = X1 - X0, dy = Y1 - Y0;
    const len2 = dx * dx + dy * dy;
    for (let yy = Math.floor(Math.min(Y0, Y1) - r); yy <= Math.ceil(Math.max(Y0, Y1) + r); yy++) {
      if (yy < 0 || yy >= this.h) continue;
      for (let xx = Math.floor(Math.min(X0, X1) - r); xx <= Math.ceil(Math.max(X0, X1) + r); xx++) {
        const px = xx + 0.5, py = yy + 0.5;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - X0) * dx + (py - Y0) * dy) / len2));
        if ((px - X0 - t * dx) ** 2 + (py - Y0 - t * dy) ** 2 <= r * r) this.set(xx, yy, c);
      }
    }
  }

  /** Output pixels a string takes: width and the font's line height. */
  static measure(text: string): { width: number; height: number } {
    return { width: text.length * GLYPH_WIDTH, height: GLYPH_HEIGHT };
  }

  /** Draws `text` with its baseline at y (horizontal), or centred on (x, y) when vertical. Non-ASCII shows as '?'. */
  text(x: number, y: number, text: string, o: TextOptions): void {
    const font = o.bold ? FONT_BOLD : FONT_REGULAR;
    const width = text.length * GLYPH_WIDTH;
    const shift = o.align === 'center' ? width / 2 : o.align === 'right' ? width : 0;
    // top-left of the text box in output pixels (horizontal layout)
    const left = o.vertical ? 0 : Math.round(x - shift);
    const top = o.vertical ? 0 : Math.round(y - (GLYPH_HEIGHT - GLYPH_DESCENT));
    [...text].forEach((ch, i) => {
      const code = ch.charCodeAt(0);
      const glyph = font[code >= FIRST_CHAR && code < FIRST_CHAR + font.length ? code - FIRST_CHAR : '?'.charCodeAt(0) - FIRST_CHAR]!;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = parseInt(glyph.slice(row * 3, row * 3 + 3), 16);
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - col)))) continue;
          const gx = i * GLYPH_WIDTH + col; // position in the unrotated text box
          let ox: number, oy: number;
          if (o.vertical) {
            // counter-clockwise: the text's x runs up the page, its y runs right
            ox = Math.round(x - GLYPH_HEIGHT / 2) + row;
            oy = Math.round(y + width / 2) - 1 - gx;
          } else {
            ox = left + gx;
            oy = top + row;
          }
          for (let sy = 0; sy < SCALE; sy++) for (let sx = 0; sx < SCALE; sx++) this.set(ox * SCALE + sx, oy * SCALE + sy, o.color);
        }
      }
    });
  }

  /** The output image: each output pixel the mean of its SCALE x SCALE block. */
  toRgb(): Uint8Array {
    const out = new Uint8Array(this.width * this.height * 3);
    const n = SCALE * SCALE;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        for (let ch = 0; ch < 3; ch++) {
          let sum = 0;
          for (let sy = 0; sy < SCALE; sy++) for (let sx = 0; sx < SCALE; sx++) sum += this.px[((y * SCALE + sy) * this.w + x * SCALE + sx) * 3 + ch]!;
          out[(y * this.width + x) * 3 + ch] = Math.round(sum / n);
        }
      }
    }
    return out;
  }
}

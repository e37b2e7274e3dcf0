import type { Rect } from '../../pipeline/geometry.ts';
import type { RgbImage } from '../../pipeline/types.ts';

/** How much of each pixel is person: 0 background … 1 person, one value per pixel of the photo, row-major. */
export interface PersonMask {
  width: number;
  height: number;
  alpha: Float32Array;
}

export interface PersonSegmenter {
  /** the whole photo's mask; with `region` (edge coordinates) only that part is looked at, the rest is 0 */
  segment(image: RgbImage, region?: Rect): Promise<PersonMask>;
}

/** Alpha above which a pixel counts as person when a yes/no answer is needed (crown search, IoU). */
export const PERSON_ALPHA = 0.5;

/**
 * A blob row narrower than this share of the searched columns is a stray hair or mask noise, not yet
 * the head: the crown is where the hair becomes a solid outline.
 */
const MIN_CROWN_SHARE = 0.02;

/**
 * The topmost row of the head's mask blob within `columns` (x from `from` inclusive to `to` exclusive,
 * normally the face's width): the largest 4-connected group of person pixels inside that band, scanned
 * from the top until a row holds a solid run. 0 when the hair reaches the photo's top edge (the crown is
 * there or above it); undefined when the band holds no person pixels.
 */
export function hairTop(mask: PersonMask, columns: { from: number; to: number }): number | undefined {
  const from = Math.max(0, Math.floor(columns.from));
  const to = Math.min(mask.width, Math.ceil(columns.to));
  const band = to - from;
  if (band <= 0) return undefined;
  const labels = new Int32Array(band * mask.height);
  const sizes = [0];
  const stack: number[] = [];
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== 0 || !isPerson(mask, from, band, start)) continue;
    const label = sizes.length;
    let size = 0;
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      size++;
      const x = i % band;
      const neighbours = [x > 0 ? i - 1 : -1, x < band - 1 ? i + 1 : -1, i - band, i + band];
      for (const n of neighbours) {
        if (n < 0 || n >= labels.length || labels[n] !== 0 || !isPerson(mask, from, band, n)) continue;
        labels[n] = label;
        stack.push(n);
      }
    }
    sizes.push(size);
  }
  if (sizes.length === 1) return undefined;
  const head = sizes.indexOf(Math.max(...sizes.slice(1)));
  const solid = Math.max(1, Math.ceil(band * MIN_CROWN_SHARE));
  for (let y = 0; y < mask.height; y++) {
    let count = 0;
    for (let x = 0; x < band; x++) if (labels[y * band + x] === head) count++;
    if (count >= solid) return y;
  }
  return undefined;
}

function isPerson(mask: PersonMask, from: number, band: number, bandIndex: number): boolean {
  const y = Math.floor(bandIndex / band);
  return mask.alpha[y * mask.width + from + (bandIndex % band)] >= PERSON_ALPHA;
}

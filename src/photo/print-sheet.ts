import sharp from 'sharp';
import type { RgbImage } from '../pipeline/types.ts';
import { MM_PER_INCH } from './frame.ts';
import { encodeJpeg } from './jpeg-output.ts';

/** Paper, portrait, width × height in mm. */
export const PAPER_SIZES_MM = {
  '4x6': [101.6, 152.4],
  '5x7': [127, 177.8],
  a4: [210, 297],
  letter: [215.9, 279.4],
} as const satisfies Record<string, readonly [number, number]>;
export type PaperSize = keyof typeof PAPER_SIZES_MM;
export const PAPER_SIZES = Object.keys(PAPER_SIZES_MM) as PaperSize[];

/** Space between neighbouring photos, for the scissors. */
export const GUTTER_MM = 2;
/** Cut-mark lines: thin, light grey, so they guide the cut without showing on a photo cut slightly wide. */
const CUT_MARK_MM = 0.1;
const CUT_MARK_GREY = 160;

export interface SheetLayout {
  columns: number;
  rows: number;
  count: number;
  /** photos turned a quarter, because more fit that way */
  rotated: boolean;
  /** one photo cell as placed, px */
  cellWidth: number;
  cellHeight: number;
  /** top-left of the first photo, px: the grid is centred on the sheet */
  left: number;
  top: number;
  gutter: number;
}

/** photos of `photo` px along a `sheet` px side with `gutter` px between them */
const fitAlong = (sheet: number, photo: number, gutter: number) => Math.max(0, Math.floor((sheet + gutter) / (photo + gutter)));

/** As many photos as fit, upright or turned a quarter (whichever fits more; upright on a tie), centred. */
export function layoutSheet(sheetWidth: number, sheetHeight: number, photoWidth: number, photoHeight: number, gutter: number): SheetLayout {
  const grid = (w: number, h: number) => ({ columns: fitAlong(sheetWidth, w, gutter), rows: fitAlong(sheetHeight, h, gutter), cellWidth: w, cellHeight: h });
  const upright = grid(photoWidth, photoHeight);
  const turned = grid(photoHeight, photoWidth);
  const rotated = turned.columns * turned.rows > upright.columns * upright.rows;
  const chosen = rotated ? turned : upright;
  const used = (n: number, size: number) => n * size + Math.max(0, n - 1) * gutter;
  return {
    ...chosen,
    count: chosen.columns * chosen.rows,
    rotated,
    left: Math.floor((sheetWidth - used(chosen.columns, chosen.cellWidth)) / 2),
    top: Math.floor((sheetHeight - used(chosen.rows, chosen.cellHeight)) / 2),
    gutter,
  };
}

/** A paper size in px at `dpi`. */
export function paperPx(paper: PaperSize, dpi: number): [number, number] {
  const [w, h] = PAPER_SIZES_MM[paper];
  return [Math.round((w / MM_PER_INCH) * dpi), Math.round((h / MM_PER_INCH) * dpi)];
}

/**
 * A print sheet: copies of `photo` tiled per `layoutSheet` on white, with cut lines along every photo
 * edge running through the gutters and margins (drawn first, so the photos cover them). Same dpi as the photo.
 */
export async function renderSheet(photo: RgbImage, sheetWidth: number, sheetHeight: number, dpi: number): Promise<{ jpeg: Buffer; layout: SheetLayout }> {
  const pxPerMm = dpi / MM_PER_INCH;
  const layout = layoutSheet(sheetWidth, sheetHeight, photo.width, photo.height, Math.round(GUTTER_MM * pxPerMm));
  const tile = layout.rotated ? await quarterTurn(photo) : photo;
  const sheet = new Uint8Array(sheetWidth * sheetHeight * 3).fill(255);
  const line = Math.max(1, Math.round(CUT_MARK_MM * pxPerMm));
  const xs = Array.from({ length: layout.columns }, (_, c) => layout.left + c * (layout.cellWidth + layout.gutter));
  const ys = Array.from({ length: layout.rows }, (_, r) => layout.top + r * (layout.cellHeight + layout.gutter));
  for (const x of xs.flatMap((x) => [x - line, x + layout.cellWidth])) fillRect(sheet, sheetWidth, sheetHeight, x, 0, line, sheetHeight);
  for (const y of ys.flatMap((y) => [y - line, y + layout.cellHeight])) fillRect(sheet, sheetWidth, sheetHeight, 0, y, sheetWidth, line);
  for (const y of ys) for (const x of xs) blit(sheet, sheetWidth, tile, x, y);
  return { jpeg: await encodeJpeg({ data: sheet, width: sheetWidth, height: sheetHeight }, dpi), layout };
}

async function quarterTurn(image: RgbImage): Promise<RgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).rotate(90).raw().toBuffer();
  return { data, width: image.height, height: image.width };
}

function fillRect(sheet: Uint8Array, width: number, height: number, x: number, y: number, w: number, h: number): void {
  for (let row = Math.max(0, y); row < Math.min(height, y + h); row++) {
    sheet.fill(CUT_MARK_GREY, (row * width + Math.max(0, x)) * 3, (row * width + Math.min(width, x + w)) * 3);
  }
}

function blit(sheet: Uint8Array, sheetWidth: number, tile: RgbImage, x: number, y: number): void {
  const rowBytes = tile.width * 3;
  for (let row = 0; row < tile.height; row++) sheet.set(tile.data.subarray(row * rowBytes, (row + 1) * rowBytes), ((y + row) * sheetWidth + x) * 3);
}

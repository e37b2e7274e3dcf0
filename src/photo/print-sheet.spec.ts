import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { layoutSheet, paperPx, renderSheet } from './print-sheet.ts';

// at 300 dpi the 2 mm gutter is 24 px
const GUTTER = 24;

describe('layoutSheet', () => {
  it('fits as many photos as the paper holds with 2 mm gutters, turning them when more fit', () => {
    const [w4x6, h4x6] = paperPx('4x6', 300);
    expect([w4x6, h4x6]).toEqual([1200, 1800]);
    // US 2 x 2 in: 600 px square; 2 x 600 + 24 > 1200, so one across, two down
    expect(layoutSheet(w4x6, h4x6, 600, 600, GUTTER)).toMatchObject({ columns: 1, rows: 2, count: 2, rotated: false });
    // GB 35 x 45 mm (413 x 531 px): 2 x 3 upright, 2 x 4 turned
    expect(layoutSheet(w4x6, h4x6, 413, 531, GUTTER)).toMatchObject({ columns: 2, rows: 4, count: 8, rotated: true, cellWidth: 531, cellHeight: 413 });
    const [wl, hl] = paperPx('letter', 300);
    expect([wl, hl]).toEqual([2550, 3300]);
    expect(layoutSheet(wl, hl, 600, 600, GUTTER)).toMatchObject({ columns: 4, rows: 5, count: 20 });
    const [wa, ha] = paperPx('a4', 300);
    expect([wa, ha]).toEqual([2480, 3508]);
    // 5 x 6 upright, 4 x 8 turned
    expect(layoutSheet(wa, ha, 413, 531, GUTTER)).toMatchObject({ columns: 4, rows: 8, count: 32, rotated: true });
    expect(paperPx('5x7', 300)).toEqual([1500, 2100]);
    // 3 x 3 upright beats 2 x 4 turned
    expect(layoutSheet(1500, 2100, 413, 531, GUTTER)).toMatchObject({ count: 9, rotated: false });
    // a photo larger than the paper: none
    expect(layoutSheet(500, 500, 600, 600, GUTTER).count).toBe(0);
  });

  it('centres the grid', () => {
    const layout = layoutSheet(1200, 1800, 600, 600, GUTTER);
    expect(layout.left).toBe(300);
    expect(layout.top).toBe(Math.floor((1800 - 1224) / 2));
  });
});

describe('renderSheet', () => {
  it('tiles the photo at the same dpi, with grey cut lines in the gutters and white between them', async () => {
    // a red photo with a blue top row, so a quarter turn shows
    const [w, h] = [413, 531];
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set(i < w ? [0, 0, 255] : [255, 0, 0], i * 3);
    const { jpeg, layout } = await renderSheet({ data, width: w, height: h }, 1200, 1800, 300);
    expect(layout).toMatchObject({ count: 8, rotated: true });
    const { data: sheet, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, (await sharp(jpeg).metadata()).density]).toEqual([1200, 1800, 300]);
    const at = (x: number, y: number) => {
      const i = (Math.floor(y) * info.width + Math.floor(x)) * 3;
      return Array.from(sheet.subarray(i, i + 3));
    };
    const near = (value: number[], expected: number[]) => value.every((v, i) => Math.abs(v - expected[i]) < 40);
    for (let r = 0; r < layout.rows; r++) {
      for (let c = 0; c < layout.columns; c++) {
        const x = layout.left + c * (layout.cellWidth + layout.gutter);
        const y = layout.top + r * (layout.cellHeight + layout.gutter);
        expect(near(at(x + layout.cellWidth / 2, y + layout.cellHeight / 2), [255, 0, 0]), `photo ${r},${c}`).toBe(true);
      }
    }
    // turned clockwise: the blue top row is now the right-hand column of each cell
    expect(near(at(layout.left + layout.cellWidth - 1, layout.top + 100), [0, 0, 255])).toBe(true);
    // the gutter between the first two columns: cut lines at its edges, white in its middle
    const gutterX = layout.left + layout.cellWidth;
    expect(at(gutterX, layout.top + 100)[1]).toBeLessThan(220);
    expect(at(gutterX + GUTTER - 1, layout.top + 100)[1]).toBeLessThan(220);
    expect(at(gutterX + GUTTER / 2, layout.top + 100)).toEqual([255, 255, 255]);
    // cut lines run on into the margin above the grid
    expect(at(layout.left - 1, 5)[1]).toBeLessThan(220);
    expect(at(layout.left + 50, 5)).toEqual([255, 255, 255]);
  });
});

import { describe, expect, it } from 'vitest';
import { orderQuad, type Quad, type Vec } from './quad.ts';
import type { TextBox } from './text-boxes.ts';
import { documentFromText } from './text-extent.ts';

/** a text box of `length` × `thickness` centred at (cx, cy), its long side turned by `degrees` */
function line(cx: number, cy: number, length: number, thickness: number, degrees = 0): TextBox {
  const a = (degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(a), Math.sin(a)];
  const corners = ([[-1, -1], [1, -1], [1, 1], [-1, 1]] as Vec[]).map(([u, v]): Vec => [cx + (u * length * cos) / 2 - (v * thickness * sin) / 2, cy + (u * length * sin) / 2 + (v * thickness * cos) / 2]);
  return { corners: orderQuad(corners), angle: a, length, thickness, score: 0.9 };
}

/** a data page's print in a 500 × 352 frame (ID-3's shape) at (x, y): fields right of a portrait, a two-line MRZ along the bottom */
function dataPage(x: number, y: number, degrees = 0): TextBox[] {
  const a = (degrees * Math.PI) / 180;
  const at = (u: number, v: number): Vec => [x + u * Math.cos(a) - v * Math.sin(a), y + u * Math.sin(a) + v * Math.cos(a)];
  const fields = [60, 90, 120, 150, 180, 210, 240].map((v) => line(...at(330, v), 240, 12, degrees));
  const header = line(...at(250, 28), 300, 16, degrees);
  const mrz = [300, 325].map((v) => line(...at(250, v), 450, 14, degrees));
  return [header, ...fields, ...mrz];
}

const area = (quad: Quad) => Math.abs(quad.reduce((s, p, i) => s + p[0] * quad[(i + 1) % 4][1] - quad[(i + 1) % 4][0] * p[1], 0)) / 2;

describe('documentFromText', () => {
  it('places a data page from its print: the text block grown by the blank margin, stretched to an ID format', () => {
    const quad = orderQuad(documentFromText(dataPage(100, 80), 800, 600)!);
    const [width, height] = [quad[1][0] - quad[0][0], quad[3][1] - quad[0][1]];
    // the MRZ spans 450 of the page's 500 pixels; the found page is ID-3-shaped around it
    expect(width).toBeGreaterThan(450);
    expect(width).toBeLessThan(520);
    expect(width / height).toBeCloseTo(125 / 88, 2);
    expect(quad[0][0]).toBeLessThan(125);
    expect(quad[1][0]).toBeGreaterThan(575);
  });

  it('follows the print when the document is turned', () => {
    const level = documentFromText(dataPage(200, 100), 900, 700)!;
    const turned = orderQuad(documentFromText(dataPage(200, 100, 30), 900, 700)!);
    expect(area(turned)).toBeCloseTo(area(level), -2);
    const top = Math.atan2(turned[1][1] - turned[0][1], turned[1][0] - turned[0][0]);
    expect((top * 180) / Math.PI).toBeCloseTo(30, 0);
  });

  it('takes the largest block, not a caption elsewhere in the photo', () => {
    const caption = [0, 1, 2, 3, 4, 5].map((k) => line(720, 560 + k * 6, 60, 4));
    const quad = orderQuad(documentFromText([...dataPage(100, 80), ...caption], 800, 600)!);
    expect(Math.max(...quad.map((p) => p[0]))).toBeLessThan(640);
  });

  it('finds no document in a few scattered words, or in print too small a share of the photo', () => {
    expect(documentFromText([line(100, 100, 80, 12), line(400, 300, 90, 12), line(600, 50, 70, 12)], 800, 600)).toBeUndefined();
    expect(documentFromText(dataPage(100, 80), 4000, 3000)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { containsQuad, cornerAngles, documentType, lineIntersection, orderQuad, rescaleQuad, rotateQuad, type Quad } from './quad.ts';

describe('quad geometry', () => {
  it('orders corners clockwise from the top-left, whatever order they come in', () => {
    const quad: Quad = [[10, 10], [110, 12], [108, 80], [12, 78]];
    expect(orderQuad([quad[2], quad[0], quad[3], quad[1]])).toEqual(quad);
  });

  it('maps a quad from a half-size copy to the full image with pixel centres aligned: the copy\'s corner pixels cover the image\'s first and last two', () => {
    const quad: Quad = [[0, 0], [49, 0], [49, 24], [0, 24]];
    expect(rescaleQuad(quad, { width: 50, height: 25 }, { width: 100, height: 50 })).toEqual([[0.5, 0.5], [98.5, 0.5], [98.5, 48.5], [0.5, 48.5]]);
  });

  it('turning the document a quarter clockwise makes its old bottom-left the new top-left', () => {
    const quad: Quad = [[0, 0], [10, 0], [10, 5], [0, 5]];
    expect(rotateQuad(quad, 3)[0]).toEqual([0, 5]);
    expect(rotateQuad(quad, 2)[0]).toEqual([10, 5]);
  });

  it('names the ISO/IEC 7810 format from the shape, in either orientation', () => {
    expect(documentType(85.6 / 53.98)).toBe('ID-1');
    expect(documentType(53.98 / 85.6)).toBe('ID-1');
    expect(documentType(125 / 88)).toBe('ID-3');
    expect(documentType(105 / 74)).toBe('ID-3'); // ID-2 has ID-3's shape
    expect(documentType(1)).toBe('unknown');
    expect(documentType(4 / 3, 0.03)).toBe('unknown'); // a camera frame is no document
  });

  it('intersects lines, and refuses parallel ones', () => {
    expect(lineIntersection([0, 0], [1, 1], [0, 2], [2, 0])).toEqual([1, 1]);
    expect(lineIntersection([0, 0], [1, 0], [0, 1], [1, 1])).toBeUndefined();
  });

  it('measures interior angles', () => {
    expect(cornerAngles([[0, 0], [4, 0], [4, 3], [0, 3]]).map(Math.round)).toEqual([90, 90, 90, 90]);
  });

  it('tells a quad inside another from one that crosses it', () => {
    const outer: Quad = [[0, 0], [100, 0], [100, 60], [0, 60]];
    expect(containsQuad(outer, [[10, 10], [40, 10], [40, 40], [10, 40]])).toBe(true);
    expect(containsQuad(outer, [[80, 10], [120, 10], [120, 40], [80, 40]])).toBe(false);
  });
});

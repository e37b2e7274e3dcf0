import { describe, expect, it } from 'vitest';
import { joinCollinear } from './document-finder.ts';
import type { Vec } from './quad.ts';

const segment = (a: Vec, b: Vec) => ({ a, b, angle: Math.atan2(b[1] - a[1], b[0] - a[0]), length: Math.hypot(b[0] - a[0], b[1] - a[1]) });

describe('joinCollinear', () => {
  it('joins the pieces of one broken edge into one line ranked by their total length', () => {
    const pieces = [segment([0, 100], [40, 100]), segment([60, 101], [110, 101]), segment([150, 100], [190, 100])];
    const clutter = segment([0, 0], [80, 50]);
    const [first, second] = joinCollinear([clutter, ...pieces]);
    expect(first.length).toBeCloseTo(40 + 50 + 40, 5);
    expect(first.a[0]).toBeCloseTo(0, 0);
    expect(first.b[0]).toBeCloseTo(190, 0);
    expect(second).toMatchObject({ length: clutter.length });
  });

  it('keeps parallel edges a few pixels apart, and crossing ones, apart', () => {
    const lines = joinCollinear([segment([0, 0], [100, 0]), segment([0, 8], [100, 8]), segment([50, -50], [50, 50])]);
    expect(lines).toHaveLength(3);
  });
});

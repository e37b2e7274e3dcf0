import { rampScore, type Measure } from './measure.ts';

/**
 * Heuristic. A shadow cast on the background falls to one side of the head, while the background
 * above the head and on the other side stays lit, so the background beside the head (rows from the
 * estimated crown to the chin, each side) is compared with the background above the crown and with the
 * other side: value = the largest relative darkening of a side's median grey against either, 0 when
 * no side is darker.
 * A background lit from one side looks the same; a photo cut so close that no background shows beside
 * the head is not judged (value 0).
 */
export const shadowBehindHead: Measure = ({ regions, features }) => {
  const { small, background: mask, scale } = regions;
  const { width, data } = small;
  const grey = (i: number) => 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
  const zones: Record<'above' | 'left' | 'right', number[]> = { above: [], left: [], right: [] };
  const crownRow = Math.floor(features.crown.y / scale);
  const sideRows = [Math.max(0, crownRow), Math.min(small.height, Math.floor(features.chin.y / scale))];
  const centre = regions.head.centre.x / scale;
  for (let v = 0; v < sideRows[1]; v++) {
    const zone = v < crownRow ? 'above' : v >= sideRows[0] ? 'side' : undefined;
    if (!zone) continue;
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      if (!mask[i]) continue;
      zones[zone === 'above' ? 'above' : u < centre ? 'left' : 'right'].push(grey(i));
    }
  }
  // medians: dark hair reaching past the head ellipse is a minority of a zone, a cast shadow most of it
  const median = (values: number[]) => (values.length ? values.sort((a, b) => a - b)[values.length >> 1] : undefined);
  const above = median(zones.above);
  const left = median(zones.left);
  const right = median(zones.right);
  const darker = (side: number | undefined, than: number | undefined) => (side === undefined || than === undefined ? 0 : Math.max(0, (than - side) / Math.max(1, than)));
  const value = Math.max(darker(left, above), darker(right, above), darker(left, right), darker(right, left));
  return { shadow_darkening: { value, score: rampScore(value, 0.3, 0.03) } };
};

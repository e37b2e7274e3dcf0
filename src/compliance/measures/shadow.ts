import { rampScore, type Measure } from './measure.ts';

/**
 * Heuristic. A shadow cast on the background falls right beside the head, so the background in a
 * band next to the head (up to half a face width out), between eye line and chin, is compared with
 * the background further out in the same rows, on each side: value = the larger relative darkening
 * (far − near) / far, 0 when the band is no darker. A background lit unevenly from one side can look
 * the same; a shadow with nothing further out to compare (head filling the frame) is not seen.
 */
export const shadowBehindHead: Measure = ({ regions, features }) => {
  const { small, background: mask, scale, head, faceWidth } = regions;
  const { width, data } = small;
  const top = Math.max(0, Math.floor((head.centre.y - head.ry * 0.4) / scale));
  const bottom = Math.min(small.height, Math.floor(features.chin.y / scale));
  const band = (faceWidth * 0.5) / scale;
  const sums = { leftNear: [0, 0], leftFar: [0, 0], rightNear: [0, 0], rightFar: [0, 0] };
  for (let v = top; v < bottom; v++) {
    const y = v * scale;
    const half = head.rx * Math.sqrt(Math.max(0, 1 - ((y - head.centre.y) / head.ry) ** 2));
    const leftEdge = (head.centre.x - half) / scale;
    const rightEdge = (head.centre.x + half) / scale;
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      if (!mask[i]) continue;
      const grey = 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
      const side = u < leftEdge ? (leftEdge - u < band ? sums.leftNear : sums.leftFar) : u > rightEdge ? (u - rightEdge < band ? sums.rightNear : sums.rightFar) : undefined;
      if (!side) continue;
      side[0] += grey;
      side[1]++;
    }
  }
  const darkening = (near: number[], far: number[]) => (near[1] && far[1] ? Math.max(0, (far[0] / far[1] - near[0] / near[1]) / Math.max(1, far[0] / far[1])) : 0);
  const value = Math.max(darkening(sums.leftNear, sums.leftFar), darkening(sums.rightNear, sums.rightFar));
  return { shadow_darkening: { value, score: rampScore(value, 0.3, 0.03) } };
};

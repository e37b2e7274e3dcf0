import { meanPoint } from '../../pipeline/geometry.ts';
import { bandScore, rampScore, type Measure } from './measure.ts';

/**
 * Head size and position in the frame, from chin, estimated crown, eye line and face outline:
 * head height (chin to crown) over frame height; eye line height from the bottom edge over frame
 * height; room below the chin (neck and shoulders) over head height; room beside the face outline
 * over face width, each side (negative: the frame cuts the face).
 */
export const headFrame: Measure = ({ image, features, geometry, regions }) => {
  const { width, height } = image;
  const headRatio = regions.headHeight / height;
  const eyeLine = (height - meanPoint([geometry.eyes[0].centre, geometry.eyes[1].centre]).y) / height;
  const bottom = (height - features.chin.y) / regions.headHeight;
  const left = regions.faceLeft / regions.faceWidth;
  const right = (width - regions.faceRight) / regions.faceWidth;
  return {
    head_height_ratio: { value: headRatio, score: bandScore(headRatio, 0.4, 0.7, 0.8, 1) },
    eye_line_ratio: { value: eyeLine, score: bandScore(eyeLine, 0.35, 0.5, 0.7, 0.85) },
    bottom_margin: { value: bottom, score: rampScore(bottom, 0, 0.2) },
    left_margin: { value: left, score: rampScore(left, 0, 0.2) },
    right_margin: { value: right, score: rampScore(right, 0, 0.2) },
  };
};

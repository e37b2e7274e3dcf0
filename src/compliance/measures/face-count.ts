import { boxArea } from '../../pipeline/geometry.ts';
import { rampScore, type Measure } from './measure.ts';

/**
 * Faces in the photo, and the second-largest face's size relative to the subject's (square root of the
 * box areas: a linear size ratio, 0 with one face). A small face far behind the subject, or a face on a
 * printed T-shirt, is judged by its size.
 */
export const faceCount: Measure = ({ geometry, otherFaces }) => {
  const second = otherFaces[0];
  const ratio = second ? Math.sqrt(boxArea(second) / boxArea(geometry.box)) : 0;
  return {
    face_count: { value: 1 + otherFaces.length, score: otherFaces.length === 0 ? 100 : 0 },
    second_face_ratio: { value: ratio, score: rampScore(ratio, 0.5, 0) },
  };
};

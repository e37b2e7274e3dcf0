import { rollDegrees } from './geometry.ts';
import type { FaceLandmarks, LandmarkModel, PoseModel } from './models/roles.ts';
import type { Picture } from './picture.ts';
import type { Detection, FaceBox, Point } from './types.ts';

/** A face box and how far the face in it is turned in the image plane. */
export interface OrientedFace {
  box: FaceBox;
  /** angle of the eye line, degrees, positive = turned clockwise on screen (see `rollDegrees`) */
  roll: number;
}

/** What the 468-point mesh shows beyond the five alignment points; read by quality and photo checks. */
export interface MeshFeatures {
  /** lid gap over corner-to-corner width, image-left and image-right eye: about 0.3 open, under 0.1 closed */
  eyelidOpening: [number, number];
  /** inner-lip gap over mouth-corner width: about 0 closed */
  lipOpening: number;
  /** lowest point of the chin */
  chin: Point;
  /** top of the forehead as far as the mesh reaches (about the hairline) */
  forehead: Point;
  /**
   * estimated top of the head: the eye line lies about midway between chin and crown (adult head
   * proportions), so the crown is the chin mirrored through the eye midpoint along the face's axis
   */
  crown: Point;
  /** outline of the face, a closed polygon running from the forehead round the image-right side */
  oval: Point[];
}

/**
 * Everything known about one face's geometry, in image coordinates, measured once per request:
 * detection box, landmarks, alignment points, roll and pose, and (with the mesh) the features photo
 * checks need. Quality, PAD, alignment and later photo features all read this one result.
 */
export interface FaceGeometry extends FaceLandmarks, OrientedFace {
  box: Detection;
}

/** Landmarks → geometry: the one place a face's landmarks, roll and pose are put together. */
export class FaceGeometryService {
  constructor(
    private readonly landmarkModel: LandmarkModel,
    /** only consulted when the landmark model gives no pose of its own */
    private readonly poseModel?: PoseModel,
  ) {}

  /** whether `measure` gives a pose */
  get givesPose(): boolean {
    return this.landmarkModel.givesPose || this.poseModel !== undefined;
  }

  async measure(picture: Picture, detection: Detection): Promise<FaceGeometry> {
    const landmarks = await this.landmarkModel.landmarks(picture, detection);
    const oriented: FaceGeometry = { ...landmarks, box: detection, roll: rollDegrees(landmarks.eyes[0].centre, landmarks.eyes[1].centre) };
    if (!landmarks.pose && this.poseModel) oriented.pose = await this.poseModel.pose(picture, oriented);
    return oriented;
  }
}

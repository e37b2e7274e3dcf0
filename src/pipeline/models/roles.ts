import type { FaceGeometry, MeshFeatures, OrientedFace } from '../face-geometry.ts';
import type { Picture } from '../picture.ts';
import type { PersonSegmenter } from '../../photo/segmentation/person-mask.ts';
import type { TextDetector } from '../../documents/text-detector.ts';
import type { Detection, FivePoints, Point, PoseAngles, RgbImage, Template } from '../types.ts';

// What each manifest role must do, independent of the network behind it. A model kind is a class
// implementing one of these; the registry maps `kind` → class, so a new bundle is a new class.

export interface DetectOptions {
  /** look again in tiles when the whole photo shows no face (config `detection.tiles`); default true */
  tiles?: boolean;
}

export interface FaceDetector {
  /** faces in image coordinates, best first; may extend past the image for faces cut by the frame */
  detect(picture: Picture, options?: DetectOptions): Promise<Detection[]>;
}

export interface EyeRegion {
  centre: Point;
  /** corner-to-corner width, pixels */
  width: number;
}

export interface FaceLandmarks {
  /** every point the model gives, image coordinates */
  points: Point[];
  five: FivePoints;
  /** image-left and image-right eye */
  eyes: [EyeRegion, EyeRegion];
  /** head pose, from models that give depth (the 468-point mesh) */
  pose?: PoseAngles;
  /** chin, forehead, openings, oval: from models whose points cover them (the 468-point mesh) */
  features?: MeshFeatures;
  /** the model's own probability that its crop holds a face, from models that give one */
  faceProbability?: number;
}

export interface LandmarkModel {
  /** whether `landmarks` gives `pose` */
  readonly givesPose: boolean;
  /** `face.eyes`, when the detector gives them, lets the model see the face turned upright */
  landmarks(picture: Picture, face: Detection): Promise<FaceLandmarks>;
}

export interface Embedding {
  /** L2-normalised */
  template: Template;
  /** length of the network output before normalisation; ArcFace-style models give non-faces a short one */
  norm: number;
}

export interface RecognitionModel {
  /** the aligned crop `embed` expects: its size and where the five points must land */
  readonly alignment: { width: number; height: number; reference: FivePoints };
  embed(aligned: RgbImage): Promise<Embedding>;
}

export interface PadModel {
  /** probability that the face is a presentation attack, 0–1 */
  /** judged on the face turned upright by its roll: the network never saw rolled faces */
  spoofScore(picture: Picture, face: OrientedFace): Promise<number>;
}

export interface PoseModel {
  pose(picture: Picture, face: OrientedFace): Promise<PoseAngles>;
}

export interface EyeStateModel {
  /** probability that each eye (image-left, image-right) is open */
  eyesOpen(picture: Picture, face: FaceGeometry): Promise<[number, number]>;
}

export interface RoleModels {
  detection: FaceDetector;
  landmarks: LandmarkModel;
  recognition: RecognitionModel;
  pad: PadModel;
  pose: PoseModel;
  eyes: EyeStateModel;
  /** person mask for background replacement (passport photos); the biometric pipeline never loads it */
  segmentation: PersonSegmenter;
  /** text probability map (the ID-document cropper, when no outline is found); the biometric pipeline never loads it */
  text: TextDetector;
  /**
   * a second face detector for the portrait printed on a document (the ID-document cropper): it finds
   * blurred portraits the detection model misses, and no faces in card-back print
   */
  portrait: FaceDetector;
  /**
   * a face detector for the last look at a document that shows no face: the part of the page where ICAO
   * 9303 prints the portrait (the ID-document cropper)
   */
  portrait_zone: FaceDetector;
}

import { performance } from 'node:perf_hooks';
import { ApiError } from '../errors.ts';
import type { MadScore } from '../mad/mad-score.ts';
import { loadMorphModels } from '../mad/morph-models.ts';
import { SingleImageMad } from '../mad/single-image-mad.ts';
import { alignFace } from './align.ts';
import type { PipelineConfig } from './config.ts';
import { decodeImage } from './decode.ts';
import { FaceGeometryService, type FaceGeometry, type OrientedFace } from './face-geometry.ts';
import { boxArea, clipBox } from './geometry.ts';
import { loadModelManifest, type ModelManifest, type OnnxRole } from './model-manifest.ts';
import { loadModel } from './models/registry.ts';
import type { Embedding, RoleModels } from './models/roles.ts';
import { turnImage, turnsToUpright, unturnBox, type QuarterTurns } from './orientation.ts';
import { Picture } from './picture.ts';
import { QualityAssessor, qualityModelRoles } from './quality/index.ts';
import type { Detection, FaceBox, MadReport, PadReport, PipelinePurpose, PipelineResult, RgbImage, StageState, Template } from './types.ts';

/** The component flags of GET /health that the pipeline answers for. */
export interface PipelineHealth {
  onnx_detection: boolean;
  onnx_recognition: boolean;
  onnx_quality: boolean;
  onnx_pad: boolean;
}

/** For calibration, which measures what the manifest would otherwise fix. */
export interface PipelineOverrides {
  /** replaces the recognition model's `min_embedding_norm` */
  minEmbeddingNorm?: number;
  /** replaces MIN_FACE_PROBABILITY, the landmark model's face-flag floor */
  minFaceProbability?: number;
}

type LoadedModels = Pick<RoleModels, 'detection' | 'landmarks' | 'recognition'> & Partial<RoleModels>;

/** Face candidates checked before giving up: bounds the work a photo full of false detections costs. */
const MAX_FACE_CANDIDATES = 3;

/**
 * Below this probability from the landmark model's own face flag a candidate is not a face. 0.5 is what
 * MediaPipe's face-mesh graph uses to decide it has lost the face.
 */
const MIN_FACE_PROBABILITY = 0.5;

/** A face rolled further than this is looked for again in the photo turned by quarter turns. */
const MAX_UPRIGHT_ROLL = 45;

/**
 * Detector confidence below which a face is also looked for upside down. The 150 upright fixture faces
 * score 0.84–0.99 with BlazeFace; upside down, two of them were taken for upright faces at 0.73 and 0.77.
 */
const SURE_UPRIGHT_CONFIDENCE = 0.9;

/** Turns tried, in this order, when the photo as decoded shows no face: sideways both ways, then upside down. */
const UNUSUAL_ORIENTATIONS: readonly QuarterTurns[] = [1, 3, 2];

/** One photo's subject as `examine` finds it: everything photo checks measure from, in the upright photo's coordinates. */
export interface ExaminedPhoto {
  /** the photo turned upright (by `turns` quarter turns) when the face lay sideways or upside down */
  picture: Picture;
  /** the largest confirmed face; absent when the photo shows none */
  subject?: {
    geometry: FaceGeometry;
    /** the face as the recognition model would see it (sharpness and exposure are measured here, as in the quality gate) */
    aligned: RgbImage;
    /** the recognition model's template of the face, which also confirmed it is one */
    embedding: Embedding;
    /** each eye's open probability from the eye-state model, as the quality gate reads it; absent when no such model is loaded */
    eyesOpen?: [number, number];
  };
  /** the other faces counted in the photo, largest first */
  otherFaces: FaceBox[];
  turns: QuarterTurns;
  timings: Record<string, number>;
}

/** A photo as `POST /api/v1/mad` judges it: its S-MAD verdict and its template, for D-MAD against a reference. */
export interface MorphCheck {
  sMad: MadScore;
  template: Template;
}

type Timed = <T>(stage: string, work: () => Promise<T> | T) => Promise<T>;

/** milliseconds per stage; stages may run once per face candidate and orientation, so their times add up */
function stageTimer(): { timings: Record<string, number>; timed: Timed } {
  const timings: Record<string, number> = {};
  const timed: Timed = async (stage, work) => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
    }
  };
  return { timings, timed };
}

interface Subject {
  geometry: FaceGeometry;
  aligned: RgbImage;
  embedding: Embedding;
}

/** One orientation's detections, and the subject among them if one was confirmed. */
interface Search {
  picture: Picture;
  turns: QuarterTurns;
  faces: Detection[];
  rejected: Set<Detection>;
  subject?: Subject;
}

/**
 * The whole biometric pipeline in the calling thread: decode → detect (turning the photo by quarter
 * turns when the face lies sideways or upside down) → face geometry → align → embed (which doubles as
 * the check that a detection is a face) → PAD → quality gate → MAD (enrolment). ONNX inference blocks the thread it runs on, so the server runs this
 * inside PipelinePool's workers; scripts and benchmarks may use it directly.
 */
export class FacePipeline {
  readonly modelId: string;
  private readonly quality: QualityAssessor;
  private readonly geometry: FaceGeometryService;
  private readonly minEmbeddingNorm: number;
  private readonly minFaceProbability: number;

  private constructor(
    readonly manifest: ModelManifest,
    private readonly config: PipelineConfig,
    private readonly models: LoadedModels,
    private readonly wanted: readonly OnnxRole[],
    private readonly singleImageMad: SingleImageMad | undefined,
    overrides: PipelineOverrides,
  ) {
    this.modelId = manifest.modelId;
    this.minEmbeddingNorm = overrides.minEmbeddingNorm ?? manifest.recognition.min_embedding_norm ?? 0;
    this.minFaceProbability = overrides.minFaceProbability ?? MIN_FACE_PROBABILITY;
    this.geometry = new FaceGeometryService(models.landmarks, models.pose);
    this.quality = new QualityAssessor(config.quality, { givesPose: this.geometry.givesPose, eyes: models.eyes });
  }

  /** Verifies the model bundle and opens one ONNX session per model the configuration needs, and the MAD weights when MAD is on. */
  static async create(modelsDir: string, config: PipelineConfig, overrides: PipelineOverrides = {}): Promise<FacePipeline> {
    const networks: OnnxRole[] = ['detection', 'landmarks', 'recognition', ...(config.pad.enabled ? (['pad'] as const) : []), ...qualityModelRoles(config.quality)];
    const manifest = loadModelManifest(modelsDir, config.manifest, [...networks, ...(config.mad.enabled ? (['mad'] as const) : [])]);
    const models: Partial<RoleModels> = {};
    for (const role of networks) {
      const entry = manifest.roles[role];
      // optional roles the bundle lacks leave their stage "not_configured"
      if (entry) Object.assign(models, { [role]: await loadModel(role, entry, manifest, config) });
    }
    const morphModels = config.mad.enabled ? loadMorphModels(manifest) : undefined;
    const singleImageMad = morphModels && new SingleImageMad(morphModels.single, config.mad.singleImageThreshold);
    return new FacePipeline(manifest, config, models as LoadedModels, networks, singleImageMad, overrides);
  }

  /** true for each group whose wanted models are all loaded (a group with nothing wanted is healthy) */
  health(): PipelineHealth {
    const loaded = (...roles: OnnxRole[]) => roles.filter((r) => this.wanted.includes(r) && this.manifest.roles[r]).every((r) => this.models[r] !== undefined);
    return {
      onnx_detection: loaded('detection', 'landmarks'),
      onnx_recognition: loaded('recognition'),
      onnx_quality: loaded(...qualityModelRoles(this.config.quality)),
      onnx_pad: loaded('pad'),
    };
  }

  /** optional stages and whether they run, for GET /health */
  stages(): Record<string, StageState> {
    const quality = Object.fromEntries(Object.entries(this.quality.states).map(([name, state]) => [`quality_${name}`, state]));
    return { pad: this.padState(), mad: this.madState(), ...quality };
  }

  async process(bytes: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult> {
    const started = performance.now();
    const { timings, timed } = stageTimer();

    const { decoded, search, subject } = await this.locate(bytes, timed);
    const { picture, faces, rejected } = search;
    const { geometry, aligned, embedding } = subject;
    // boxes go back to the photo as decoded, whatever turn found the face
    const counted = [geometry.box, ...faces.filter((f) => f !== geometry.box && !rejected.has(f))].map((f) =>
      clipBox(unturnBox(f, search.turns, decoded.width, decoded.height), decoded.width, decoded.height),
    );

    const pad = await timed('pad', () => this.checkPad(picture, geometry, counted.length));
    const quality = await timed('quality', () => this.quality.assess({ picture, geometry, aligned }));
    quality.measurements = { ...quality.measurements, embedding_norm: embedding.norm };
    const minimum = purpose === 'enrol' ? this.config.quality.enrolMinimum : this.config.quality.probeMinimum;
    if (quality.score < minimum) {
      const [weakest] = Object.entries(quality.components).sort((a, b) => a[1] - b[1]);
      throw new ApiError('quality_too_low', `face quality ${quality.score.toFixed(2)} is below the ${purpose} minimum ${minimum}${weakest ? ` (weakest: ${weakest[0]})` : ''}`, {
        quality_score: quality.score,
        minimum,
        purpose,
        face_count: counted.length,
        ...(weakest ? { weakest_component: weakest[0] } : {}),
      });
    }
    // after the quality gate: a blurred or badly lit face looks smoothed, as a morph does, and is better
    // told it is unusable than taken for a morph
    const mad: MadReport = purpose === 'enrol' ? await timed('mad', () => this.checkMorph(picture, geometry, counted.length)) : { status: 'not_applicable' };
    timings.total = performance.now() - started;
    return {
      template: embedding.template,
      quality,
      pad,
      faceCount: counted.length,
      face: counted[0],
      faces: counted,
      modelId: this.modelId,
      timings,
      mad,
    };
  }

  /**
   * Morphing-attack scores for one photo, without refusing it: `POST /api/v1/mad`. The template lets
   * the caller run D-MAD against a reference photo. service_unavailable when MAD is off or not in the bundle.
   */
  async scoreMorph(bytes: Uint8Array): Promise<MorphCheck> {
    const mad = this.singleImageMad;
    if (!mad) throw new ApiError('service_unavailable', `morphing-attack detection is ${this.madState() === 'disabled' ? 'switched off (pipeline.mad.enabled)' : 'not in the model bundle'}`);
    const { timed } = stageTimer();
    const { search, subject } = await this.locate(bytes, timed);
    return { sMad: mad.score(search.picture, subject.geometry), template: subject.embedding.template };
  }

  /**
   * The geometry pass alone, for photo checks: decode, find the subject (turned upright as `process`
   * does), align and embed it, without PAD or quality gate. A photo without a face is a finding
   * here, not an error.
   */
  async examine(bytes: Uint8Array): Promise<ExaminedPhoto> {
    const started = performance.now();
    const { timings, timed } = stageTimer();
    const { search } = await this.find(bytes, timed);
    const { picture, faces, rejected, subject } = search;
    const others = faces.filter((f) => f !== subject?.geometry.box && !rejected.has(f)).map((f) => clipBox(f, picture.width, picture.height));
    timings.total = performance.now() - started;
    const eyes = this.models.eyes;
    const eyesOpen = subject && eyes ? await timed('eyes', () => eyes.eyesOpen(picture, subject.geometry)) : undefined;
    return { picture, subject: subject && { geometry: subject.geometry, aligned: subject.aligned, embedding: subject.embedding, eyesOpen }, otherFaces: others, turns: search.turns, timings };
  }

  /** decode, then the subject in the first orientation that shows one; no_face_detected otherwise */
  private async locate(bytes: Uint8Array, timed: Timed): Promise<{ decoded: RgbImage; search: Search; subject: Subject }> {
    const { decoded, search } = await this.find(bytes, timed);
    if (!search.subject) {
      throw new ApiError('no_face_detected', 'no face was found in the image', { face_count: 0, rejected_candidates: search.rejected.size });
    }
    return { decoded, search, subject: search.subject };
  }

  /** decode, then the first orientation that shows a subject (or the last one tried) */
  private async find(bytes: Uint8Array, timed: Timed): Promise<{ decoded: RgbImage; search: Search }> {
    const decoded = await timed('decode', () => decodeImage(bytes, this.config.maxImagePixels));
    let search = await this.searchUpright(decoded, 0, timed, true);
    for (const turns of UNUSUAL_ORIENTATIONS) {
      if (search.subject) break;
      // whole-photo passes only: tiles in every orientation would make each photo without a face cost
      // forty detector runs instead of ten
      search = await this.searchUpright(decoded, turns, timed, false);
    }
    return { decoded, search };
  }

  /**
   * `search`, then two checks on the orientation of the face it found. A face lying sideways (a missing
   * or wrong EXIF tag) is found with its roll, and looked for again in the photo turned upright, so that
   * every later crop (PAD, eyes, quality) sees it the way its model was trained. An upside-down face is
   * often taken for an upright one, by the detector with low confidence and by the mesh too, so a face
   * the detector is unsure of is also looked for upside down, and the orientation it is surer of wins.
   */
  private async searchUpright(decoded: RgbImage, turns: QuarterTurns, timed: Timed, tiles: boolean): Promise<Search> {
    const found = await this.search(decoded, turns, timed, tiles);
    if (!found.subject) return found;
    const { roll, box } = found.subject.geometry;
    if (Math.abs(roll) > MAX_UPRIGHT_ROLL) {
      const upright = await this.search(decoded, ((turns + turnsToUpright(roll)) % 4) as QuarterTurns, timed, true);
      return upright.subject ? upright : found;
    }
    if (box.score < SURE_UPRIGHT_CONFIDENCE) {
      const flipped = await this.search(decoded, ((turns + 2) % 4) as QuarterTurns, timed, true);
      if (flipped.subject && flipped.subject.geometry.box.score > box.score && Math.abs(flipped.subject.geometry.roll) <= MAX_UPRIGHT_ROLL) return flipped;
    }
    return found;
  }

  /**
   * Detects faces in the photo turned by `turns` and picks the subject: the largest face. The detector
   * alone takes some animals and flowers for faces, so each candidate must also be confirmed as a face
   * by the landmark model (where it says) and give a face-like embedding; the next largest is tried
   * when one does not. `tiles`: whether a large photo whose whole view shows no face is searched in tiles.
   */
  private async search(decoded: RgbImage, turns: QuarterTurns, timed: Timed, tiles: boolean): Promise<Search> {
    const picture = new Picture(turns === 0 ? decoded : await timed('orient', () => turnImage(decoded, turns)));
    const faces = [...(await timed('detect', () => this.models.detection.detect(picture, { tiles })))].sort((a, b) => boxArea(b) - boxArea(a));
    const rejected = new Set<Detection>();
    for (const face of faces.slice(0, MAX_FACE_CANDIDATES)) {
      const geometry = await timed('geometry', () => this.geometry.measure(picture, face));
      if ((geometry.faceProbability ?? 1) < this.minFaceProbability) {
        rejected.add(face);
        continue;
      }
      const aligned = await timed('align', () => alignFace(picture, geometry.five, this.models.recognition.alignment));
      const embedding = await timed('embed', () => this.models.recognition.embed(aligned));
      if (embedding.norm >= this.minEmbeddingNorm) return { picture, turns, faces, rejected, subject: { geometry, aligned, embedding } };
      rejected.add(face);
    }
    return { picture, turns, faces, rejected };
  }

  private padState(): StageState {
    if (!this.config.pad.enabled) return 'disabled';
    return this.models.pad ? 'enabled' : 'not_configured';
  }

  private madState(): StageState {
    if (!this.config.mad.enabled) return 'disabled';
    return this.singleImageMad ? 'enabled' : 'not_configured';
  }

  private checkMorph(picture: Picture, geometry: FaceGeometry, faceCount: number): MadReport {
    const mad = this.singleImageMad;
    if (!mad) return { status: this.madState() };
    const { score, threshold, decision } = mad.score(picture, geometry);
    if (decision === 'morph') {
      throw new ApiError('morphing_attack_detected', 'the face looks like a morph of two people (single-image morphing-attack detection)', {
        s_mad_score: score,
        threshold,
        face_count: faceCount,
      });
    }
    return { status: 'enabled', score, threshold };
  }

  private async checkPad(picture: Picture, face: OrientedFace, faceCount: number): Promise<PadReport> {
    const model = this.models.pad;
    if (!model || !this.config.pad.enabled) return { spoofScore: 0, status: this.padState() };
    const spoofScore = await model.spoofScore(picture, face);
    if (spoofScore >= this.config.pad.threshold) {
      throw new ApiError('presentation_attack_detected', 'the image looks like a presentation attack (a photo of a photo or screen)', {
        spoof_score: spoofScore,
        threshold: this.config.pad.threshold,
        face_count: faceCount,
      });
    }
    return { spoofScore, status: 'enabled' };
  }
}

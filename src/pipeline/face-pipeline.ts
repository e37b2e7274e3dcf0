import { performance } from 'node:perf_hooks';
import { ApiError } from '../errors.ts';
import { alignFace } from './align.ts';
import type { PipelineConfig } from './config.ts';
import { decodeImage } from './decode.ts';
import { boxArea, clipBox } from './geometry.ts';
import { loadModelManifest, type ModelManifest, type ModelRole } from './model-manifest.ts';
import { loadModel } from './models/registry.ts';
import type { Embedding, FaceLandmarks, RoleModels } from './models/roles.ts';
import { Picture } from './picture.ts';
import { QualityAssessor, qualityModelRoles } from './quality/index.ts';
import type { FaceBox, MadReport, PadReport, PipelinePurpose, PipelineResult, RgbImage, StageState } from './types.ts';

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
}

type LoadedModels = Pick<RoleModels, 'detection' | 'landmarks' | 'recognition'> & Partial<RoleModels>;

/** Face candidates checked before giving up: bounds the work a photo full of false detections costs. */
const MAX_FACE_CANDIDATES = 3;

interface Subject {
  face: FaceBox;
  landmarks: FaceLandmarks;
  aligned: RgbImage;
  embedding: Embedding;
}

/**
 * The whole biometric pipeline in the calling thread: decode → detect → landmarks → align → embed
 * (which doubles as the check that a detection is a face) → PAD → MAD slot → quality gate. ONNX inference blocks the thread it runs on, so the server runs this
 * inside PipelinePool's workers; scripts and benchmarks may use it directly.
 */
export class FacePipeline {
  readonly modelId: string;
  private readonly quality: QualityAssessor;
  private readonly minEmbeddingNorm: number;

  private constructor(
    readonly manifest: ModelManifest,
    private readonly config: PipelineConfig,
    private readonly models: LoadedModels,
    private readonly wanted: readonly ModelRole[],
    overrides: PipelineOverrides,
  ) {
    this.modelId = manifest.modelId;
    this.minEmbeddingNorm = overrides.minEmbeddingNorm ?? manifest.recognition.min_embedding_norm ?? 0;
    this.quality = new QualityAssessor(config.quality, models);
  }

  /** Verifies the model bundle and opens one ONNX session per model the configuration needs. */
  static async create(modelsDir: string, config: PipelineConfig, overrides: PipelineOverrides = {}): Promise<FacePipeline> {
    const manifest = loadModelManifest(modelsDir);
    const wanted: ModelRole[] = ['detection', 'landmarks', 'recognition', ...(config.pad.enabled ? (['pad'] as const) : []), ...qualityModelRoles(config.quality)];
    const models: Partial<RoleModels> = {};
    for (const role of wanted) {
      const entry = manifest.roles[role];
      // optional roles the bundle lacks leave their stage "not_configured"
      if (entry) Object.assign(models, { [role]: await loadModel(role, entry, modelsDir, config) });
    }
    return new FacePipeline(manifest, config, models as LoadedModels, wanted, overrides);
  }

  /** true for each group whose wanted models are all loaded (a group with nothing wanted is healthy) */
  health(): PipelineHealth {
    const loaded = (...roles: ModelRole[]) => roles.filter((r) => this.wanted.includes(r) && this.manifest.roles[r]).every((r) => this.models[r] !== undefined);
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
    return { pad: this.padState(), mad: 'not_configured', ...quality };
  }

  async process(bytes: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult> {
    const timings: Record<string, number> = {};
    const started = performance.now();
    // stages may run once per face candidate, so their times add up
    const timed = async <T>(stage: string, work: () => Promise<T> | T): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
      }
    };

    const picture = new Picture(await timed('decode', () => decodeImage(bytes, this.config.maxImagePixels)));
    const faces = await timed('detect', () => this.models.detection.detect(picture));
    // The subject is the largest face. The detector alone takes some animals and flowers for faces, so
    // each candidate must also give a face-like embedding; the next largest is tried when one does not.
    const bySize = [...faces].sort((a, b) => boxArea(b) - boxArea(a));
    const candidates = bySize.slice(0, MAX_FACE_CANDIDATES);
    let subject: Subject | undefined;
    const rejected = new Set<FaceBox>();
    for (const face of candidates) {
      const landmarks = await timed('landmarks', () => this.models.landmarks.landmarks(picture, face));
      const aligned = await timed('align', () => alignFace(picture, landmarks.five, this.models.recognition.alignment));
      const embedding = await timed('embed', () => this.models.recognition.embed(aligned));
      if (embedding.norm >= this.minEmbeddingNorm) {
        subject = { face, landmarks, aligned, embedding };
        break;
      }
      rejected.add(face);
    }
    if (!subject) {
      throw new ApiError('no_face_detected', 'no face was found in the image', { face_count: 0, rejected_candidates: rejected.size });
    }
    const { face, landmarks, aligned, embedding } = subject;

    const pad = await timed('pad', () => this.checkPad(picture, face));
    const mad: MadReport = { status: purpose === 'enrol' ? 'not_configured' : 'not_applicable' };
    const quality = await timed('quality', () => this.quality.assess({ picture, face, landmarks, aligned }));
    quality.measurements = { ...quality.measurements, embedding_norm: embedding.norm };
    const minimum = purpose === 'enrol' ? this.config.quality.enrolMinimum : this.config.quality.probeMinimum;
    if (quality.score < minimum) {
      const [weakest] = Object.entries(quality.components).sort((a, b) => a[1] - b[1]);
      throw new ApiError('quality_too_low', `face quality ${quality.score.toFixed(2)} is below the ${purpose} minimum ${minimum}${weakest ? ` (weakest: ${weakest[0]})` : ''}`, {
        quality_score: quality.score,
        minimum,
        purpose,
        ...(weakest ? { weakest_component: weakest[0] } : {}),
      });
    }
    timings.total = performance.now() - started;
    const counted = [face, ...bySize.filter((f) => f !== face && !rejected.has(f))].map((f) => clipBox(f, picture.width, picture.height));
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

  private padState(): StageState {
    if (!this.config.pad.enabled) return 'disabled';
    return this.models.pad ? 'enabled' : 'not_configured';
  }

  private async checkPad(picture: Picture, face: FaceBox): Promise<PadReport> {
    const model = this.models.pad;
    if (!model || !this.config.pad.enabled) return { spoofScore: 0, status: this.padState() };
    const spoofScore = await model.spoofScore(picture, face);
    if (spoofScore >= this.config.pad.threshold) {
      throw new ApiError('presentation_attack_detected', 'the image looks like a presentation attack (a photo of a photo or screen)', {
        spoof_score: spoofScore,
        threshold: this.config.pad.threshold,
      });
    }
    return { spoofScore, status: 'enabled' };
  }
}

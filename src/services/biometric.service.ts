import { ApiError } from '../errors.ts';
import { DEFAULT_PARTITION, type Gallery } from '../gallery/gallery.ts';
import type { DeleteMetadata, EnrolMetadata, SearchMetadata, VerifyMetadata } from '../http/metadata.ts';
import type { PipelinePurpose, PipelineResult, Template } from '../pipeline/types.ts';
import type { ScoreMapper } from '../pipeline/score.ts';

export interface FaceProcessor {
  /** recognition model that produces the templates */
  readonly modelId: string;
  /** throws service_unavailable when process() would refuse a job now */
  assertCanAccept(): void;
  process(image: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult>;
}

export interface EnrolOutcome {
  subjectId: string;
  partition: string;
  qualityScore: number;
  modelId: string;
}

export interface SearchCandidate {
  subjectId: string;
  score: number;
  rank: number;
}

export interface SearchOutcome {
  partition: string;
  candidates: SearchCandidate[];
  qualityScore: number;
  modelId: string;
}

export interface VerifyOutcome {
  subjectId: string;
  partition: string;
  match: boolean;
  score: number;
  qualityScore: number;
  modelId: string;
}

export interface DeleteOutcome {
  subjectId: string;
  partition: string;
}

function dot(a: Template, b: Template): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export class BiometricService {
  constructor(
    private readonly gallery: Gallery,
    private readonly faces: FaceProcessor,
    private readonly toScore: ScoreMapper,
  ) {}

  /** throws service_unavailable when an image request would be refused now, before its upload is read */
  assertCanAcceptImage(): void {
    this.faces.assertCanAccept();
  }

  async enrol(image: Uint8Array, metadata: EnrolMetadata): Promise<EnrolOutcome> {
    const face = await this.faces.process(image, 'enrol');
    this.gallery.enrol(metadata.partition, metadata.subject_id, {
      template: face.template,
      modelId: face.modelId,
      quality: face.quality.score,
      source: 'enrol',
    });
    return { subjectId: metadata.subject_id, partition: metadata.partition, qualityScore: face.quality.score, modelId: face.modelId };
  }

  async search(image: Uint8Array, metadata: SearchMetadata): Promise<SearchOutcome> {
    this.requirePartition(metadata.partition);
    const face = await this.faces.process(image, 'probe');
    const candidates = this.gallery
      .search(metadata.partition, face.template, metadata.top_k)
      .map((match) => ({ subjectId: match.subjectId, score: this.toScore(match.similarity) }))
      .filter((candidate) => candidate.score >= metadata.threshold)
      .map((candidate, index) => ({ ...candidate, rank: index + 1 }));
    return { partition: metadata.partition, candidates, qualityScore: face.quality.score, modelId: face.modelId };
  }

  async verify(image: Uint8Array, metadata: VerifyMetadata): Promise<VerifyOutcome> {
    this.requireSubject(metadata.partition, metadata.subject_id);
    const face = await this.faces.process(image, 'probe');
    // Re-read after the pipeline: a concurrent delete may have removed the subject meanwhile.
    const templates = this.requireSubject(metadata.partition, metadata.subject_id);
    const similarity = Math.max(...templates.map((template) => dot(template, face.template)));
    const score = this.toScore(similarity);
    return {
      subjectId: metadata.subject_id,
      partition: metadata.partition,
      match: score >= metadata.threshold,
      score,
      qualityScore: face.quality.score,
      modelId: face.modelId,
    };
  }

  delete(metadata: DeleteMetadata): DeleteOutcome {
    this.requirePartition(metadata.partition);
    if (!this.gallery.deleteSubject(metadata.partition, metadata.subject_id)) {
      throw new ApiError('unknown_subject', `subject is not enrolled in partition ${metadata.partition}`);
    }
    return { subjectId: metadata.subject_id, partition: metadata.partition };
  }

  private requirePartition(partition: string): void {
    if (partition !== DEFAULT_PARTITION && !this.gallery.hasPartition(partition)) throw new ApiError('unknown_partition', `partition ${partition} does not exist`);
  }

  private requireSubject(partition: string, subjectId: string): Template[] {
    this.requirePartition(partition);
    const templates = this.gallery.subjectTemplates(partition, subjectId);
    if (!templates || templates.length === 0) {
      throw new ApiError('unknown_subject', `subject is not enrolled in partition ${partition}`);
    }
    return templates;
  }
}

import { ApiError } from '../errors.ts';
import { DEFAULT_PARTITION, type Gallery, type SourcedTemplate, type TemplateSource } from '../gallery/gallery.ts';
import type { DeleteMetadata, EnrolMetadata, SearchMetadata, VerifyMetadata } from '../http/metadata.ts';
import type { FaceBox, PipelinePurpose, PipelineResult, Template } from '../pipeline/types.ts';
import type { DifferentialVerdict } from '../mad/differential-mad.ts';
import type { MadService } from '../mad/mad.service.ts';
import type { ScoreMapper } from '../pipeline/score.ts';
import { KeyedLock } from './keyed-lock.ts';
import type { PartitionPolicies, PartitionPolicy } from './partition-policy.ts';

export interface FaceProcessor {
  /** recognition model that produces the templates */
  readonly modelId: string;
  /** throws service_unavailable when process() would refuse a job now */
  assertCanAccept(): void;
  process(image: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult>;
}

/** What the audit log keeps of a decision besides its outcome code. */
export interface Decision {
  /** enrolled / duplicate_reported, hit / no_hit, match / no_match, deleted (photo checks: compliant / non_compliant) */
  decision: string;
  /** the threshold the decision was made with, after the partition's minimum was applied */
  threshold?: number;
  /** for a duplicate-identity report: the subject the new face matched */
  matchedSubjectId?: string;
}

export interface DuplicateMatch {
  subjectId: string;
  score: number;
}

export interface EnrolOutcome extends Decision {
  subjectId: string;
  partition: string;
  qualityScore: number;
  modelId: string;
  faceCount: number;
  /** report mode of the duplicate check: the existing subject the face matched */
  duplicateOf?: DuplicateMatch;
  /** enrolments with a reference_image: differential MAD's verdict (never `morph`: that is a 451) */
  differentialMad?: DifferentialVerdict;
}

export interface SearchCandidate {
  subjectId: string;
  score: number;
  rank: number;
}

export interface SearchOutcome extends Decision {
  partition: string;
  candidates: SearchCandidate[];
  qualityScore: number;
  modelId: string;
  faceCount: number;
}

export interface VerifyOutcome extends Decision {
  subjectId: string;
  partition: string;
  match: boolean;
  score: number;
  qualityScore: number;
  modelId: string;
  faceCount: number;
}

export interface DeleteOutcome extends Decision {
  subjectId: string;
  partition: string;
}

export interface GalleryLimits {
  maxPartitions: number;
}

/** The lock key an enrolment that creates a partition holds: the partition count is checked under it. */
const NEW_PARTITION = 'new-partition';

function dot(a: Template, b: Template): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** a face box's linear size: the square root of its area, so a ratio compares heights and widths alike */
function faceSize(face: FaceBox): number {
  return Math.sqrt(Math.max(0, face.x2 - face.x1) * Math.max(0, face.y2 - face.y1));
}

/**
 * Enrol, search, verify and delete over one gallery. Every image is processed before any gallery
 * lookup, so a caller learns nothing about who is enrolled without sending a real face, and every
 * threshold is raised to its partition's minimum (PartitionPolicies).
 */
export class BiometricService {
  /** Enrolments queue per partition, and an enrolment that creates a partition also under NEW_PARTITION. */
  private readonly enrolLocks = new KeyedLock();

  constructor(
    private readonly gallery: Gallery,
    private readonly faces: FaceProcessor,
    private readonly toScore: ScoreMapper,
    private readonly policies: PartitionPolicies,
    private readonly limits: GalleryLimits,
    /** D-MAD for enrolments that come with a reference photo; absent = such enrolments are refused */
    private readonly mad?: MadService,
  ) {}

  /** throws service_unavailable when an image request would be refused now, before its upload is read */
  assertCanAcceptImage(): void {
    this.faces.assertCanAccept();
  }

  /**
   * `referenceImage`: a trusted live photo of the person; the enrolment photo is then also checked by
   * differential MAD against it, and refused (451) when it looks like a morph the person contributed to.
   * A reference D-MAD cannot judge (too small, turned away) does not refuse the enrolment: the outcome
   * says D-MAD was not applicable, and why.
   */
  async enrol(image: Uint8Array, metadata: EnrolMetadata, referenceImage?: Uint8Array): Promise<EnrolOutcome> {
    const face = await this.faces.process(image, 'enrol');
    if (!referenceImage) return this.enrolFace(face, metadata, 'enrol');
    if (!this.mad) throw new ApiError('bad_request', 'reference_image needs morphing-attack detection, which this server does not run');
    const differentialMad = await this.mad.assertNotMorphOf(face, referenceImage);
    return { ...(await this.enrolFace(face, metadata, 'enrol')), differentialMad };
  }

  /**
   * Enrols a face the pipeline has already processed (for purpose "enrol"), recording where its image
   * came from; the multi-face, partition-limit and duplicate rules apply as on the plain endpoint.
   */
  async enrolFace(face: PipelineResult, metadata: EnrolMetadata, source: TemplateSource): Promise<EnrolOutcome> {
    const policy = this.policies.for(metadata.partition);
    this.assertSingleFace(face, policy);
    // The duplicate check and the partition limit must see the gallery exactly as the insert finds it,
    // even with concurrent enrolments: the check and the insert hold the partition's lock, and an
    // enrolment that creates a partition also holds NEW_PARTITION (always taken second: no deadlock).
    return this.enrolLocks.run(`partition:${metadata.partition}`, async () => {
      if (metadata.partition === DEFAULT_PARTITION || (await this.gallery.hasPartition(metadata.partition))) return this.insertChecked(face, metadata, source, policy);
      return this.enrolLocks.run(NEW_PARTITION, async () => {
        await this.assertRoomForPartition();
        return this.insertChecked(face, metadata, source, policy);
      });
    });
  }

  /** The duplicate check and the insert; the caller holds the partition's lock. */
  private async insertChecked(face: PipelineResult, metadata: EnrolMetadata, source: TemplateSource, policy: PartitionPolicy): Promise<EnrolOutcome> {
    const duplicateOf = await this.findDuplicate(metadata.partition, metadata.subject_id, face.template, policy);
    if (duplicateOf && policy.duplicates.mode === 'refuse') {
      throw new ApiError('duplicate_identity', `the face matches subject ${duplicateOf.subjectId} already enrolled in partition ${metadata.partition}`, {
        matched_subject_id: duplicateOf.subjectId,
        score: duplicateOf.score,
        threshold: policy.duplicates.threshold,
      });
    }
    await this.gallery.enrol(metadata.partition, metadata.subject_id, {
      template: face.template,
      modelId: face.modelId,
      quality: face.quality.score,
      source,
    });
    return {
      subjectId: metadata.subject_id,
      partition: metadata.partition,
      qualityScore: face.quality.score,
      modelId: face.modelId,
      faceCount: face.faceCount,
      decision: duplicateOf ? 'duplicate_reported' : 'enrolled',
      ...(duplicateOf ? { duplicateOf, matchedSubjectId: duplicateOf.subjectId, threshold: policy.duplicates.threshold } : {}),
    };
  }

  async search(image: Uint8Array, metadata: SearchMetadata): Promise<SearchOutcome> {
    const face = await this.faces.process(image, 'probe');
    await this.requirePartition(metadata.partition);
    const threshold = this.threshold(metadata.partition, metadata.threshold);
    const candidates = (await this.gallery.search(metadata.partition, face.template, metadata.top_k, metadata.sources))
      .map((match) => ({ subjectId: match.subjectId, score: this.toScore(match.similarity) }))
      .filter((candidate) => candidate.score >= threshold)
      .map((candidate, index) => ({ ...candidate, rank: index + 1 }));
    return {
      partition: metadata.partition,
      candidates,
      qualityScore: face.quality.score,
      modelId: face.modelId,
      faceCount: face.faceCount,
      threshold,
      decision: candidates.length > 0 ? 'hit' : 'no_hit',
    };
  }

  async verify(image: Uint8Array, metadata: VerifyMetadata): Promise<VerifyOutcome> {
    const face = await this.faces.process(image, 'probe');
    const { score } = this.bestMatch(face.template, await this.requireSubject(metadata.partition, metadata.subject_id, metadata.sources));
    const threshold = this.threshold(metadata.partition, metadata.threshold);
    const match = score >= threshold;
    return {
      subjectId: metadata.subject_id,
      partition: metadata.partition,
      match,
      score,
      qualityScore: face.quality.score,
      modelId: face.modelId,
      faceCount: face.faceCount,
      threshold,
      decision: match ? 'match' : 'no_match',
    };
  }

  async delete(metadata: DeleteMetadata): Promise<DeleteOutcome> {
    await this.requirePartition(metadata.partition);
    if (!(await this.gallery.deleteSubject(metadata.partition, metadata.subject_id))) {
      throw new ApiError('unknown_subject', `subject is not enrolled in partition ${metadata.partition}`);
    }
    return { subjectId: metadata.subject_id, partition: metadata.partition, decision: 'deleted' };
  }

  /** One photo, one person: a second face of comparable size makes it unclear whom an enrolment is of. */
  private assertSingleFace(face: PipelineResult, policy: PartitionPolicy): void {
    if (policy.multipleFaces !== 'refuse' || face.faces.length < 2) return;
    const [subject, second] = face.faces;
    const ratio = faceSize(second) / faceSize(subject);
    if (ratio >= policy.secondFaceRatio) {
      throw new ApiError('multiple_faces', `the image holds ${face.faceCount} faces and the second is ${Math.round(ratio * 100)} % the size of the first: enrol from a photo of one person`, {
        face_count: face.faceCount,
        second_face_ratio: Number(ratio.toFixed(3)),
      });
    }
  }

  /** For an enrolment that would create a partition (the default partition always exists). */
  private async assertRoomForPartition(): Promise<void> {
    const count = (await this.gallery.partitions()).length;
    if (count >= this.limits.maxPartitions) {
      throw new ApiError('partition_limit_reached', `the gallery holds ${count} partitions, the configured maximum (limits.maxPartitions); enrol into an existing one`, {
        max_partitions: this.limits.maxPartitions,
      });
    }
  }

  /** The best other subject at or above the duplicate threshold; re-enrolling the same subject is no duplicate. */
  private async findDuplicate(partition: string, subjectId: string, template: Template, policy: PartitionPolicy): Promise<DuplicateMatch | undefined> {
    if (policy.duplicates.mode === 'off') return undefined;
    const best = (await this.gallery.search(partition, template, 2))
      .map((match) => ({ subjectId: match.subjectId, score: this.toScore(match.similarity) }))
      .find((match) => match.subjectId !== subjectId);
    return best && best.score >= policy.duplicates.threshold ? best : undefined;
  }

  private async requirePartition(partition: string): Promise<void> {
    if (partition !== DEFAULT_PARTITION && !(await this.gallery.hasPartition(partition))) throw new ApiError('unknown_partition', `partition ${partition} does not exist`);
  }

  /** The stored template most similar to a probe, with its calibrated score: the 1:1 comparison. */
  bestMatch(probe: Template, templates: readonly SourcedTemplate[]): { score: number; source: string } {
    let best = templates[0];
    let bestSimilarity = -Infinity;
    for (const stored of templates) {
      const similarity = dot(stored.template, probe);
      if (similarity > bestSimilarity) [best, bestSimilarity] = [stored, similarity];
    }
    return { score: this.toScore(bestSimilarity), source: best.source };
  }

  /** The subject's templates (of `sources`, when given); unknown_subject when it has none. */
  async requireSubject(partition: string, subjectId: string, sources?: ReadonlySet<string>): Promise<SourcedTemplate[]> {
    await this.requirePartition(partition);
    const templates = await this.gallery.subjectTemplates(partition, subjectId, sources);
    if (!templates) {
      const which = sources ? ` with templates from ${[...sources].join(', ')}` : '';
      throw new ApiError('unknown_subject', `subject is not enrolled${which} in partition ${partition}`);
    }
    return templates;
  }

  /** The threshold a match in the partition is decided with: the request's, raised to the partition's minimum. */
  threshold(partition: string, requested: number): number {
    return this.policies.effectiveThreshold(partition, requested);
  }
}

import { createHash, randomBytes } from 'node:crypto';
import type { ComplianceService } from '../compliance/compliance.service.ts';
import { ApiError } from '../errors.ts';
import { CLAIM_SOURCES, type ClaimSource } from '../gallery/gallery.ts';
import type { BiometricService, FaceProcessor } from '../services/biometric.service.ts';
import { settled, whenAnswered, type Answer, type StoreMode } from '../store-mode.ts';
import type { ClaimOutcome, ClaimPurpose, ClaimToken, ClaimTokenStore } from './claim-token.repository.ts';
import type { ClaimsConfig } from './config.ts';
import type { DifferentialMad } from '../mad/differential-mad.ts';
import type { EnrolmentImageRequirements } from './image-requirements.ts';

/** Who is asking, as the HTTP layer knows it: the API key, and the check of the key's partition scope. */
export interface ClaimCaller {
  readonly keyId: string | null;
  /** the token the request is about, for the audit record */
  claimTokenId: string | undefined;
  /** names the partition and user for the audit record and checks the key may use that partition */
  target(partition: string, userId: string): void;
}

export interface IssuedToken {
  token: string;
  tokenId: string;
  userId: string;
  expiresAt: number;
}

export interface ClaimEnrolment {
  userId: string;
  partition: string;
  source: ClaimSource;
  qualityScore: number;
  /** minor compliance issues the photo was accepted with */
  issues: string[];
  tokenId: string;
}

export interface ClaimValidation extends ClaimOutcome {
  tokenId: string;
  userId: string;
  partition: string;
}

/** Told of each step that completed, for metrics. */
export type ClaimEvent =
  | { kind: 'token_issued'; purpose: ClaimPurpose }
  | { kind: 'enrolled'; source: ClaimSource }
  | { kind: 'verify_outcome'; outcome: ClaimOutcome }
  | { kind: 'validated'; passed: boolean };

const TRUSTED_SOURCES: ReadonlySet<string> = new Set(CLAIM_SOURCES);
/** 256 random bits in base64url */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** pipeline refusals of a live capture: the person's image failed, not the server, so they are outcomes */
const CAPTURE_FAILURES: ReadonlySet<string> = new Set(['no_face_detected', 'presentation_attack_detected', 'quality_too_low', 'image_decode_failed', 'unsupported_image_format', 'payload_too_large']);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

/**
 * Enrolment from a trusted photo (an e-passport chip image, a document portrait, an earlier trusted
 * capture) and the verification of a live person against it, each step tied by a one-purpose token to
 * one user, partition and API key. Tokens are 256 random bits, stored only as their SHA-256.
 * Answers as its token store does (src/store-mode.ts): synchronously over claims.sqlite, with promises
 * over PostgreSQL, where tokens issued on one API node are used and validated on any other.
 */
export class ClaimsService<Mode extends StoreMode = 'sync'> {
  constructor(
    private readonly tokens: ClaimTokenStore<Mode>,
    private readonly biometric: BiometricService,
    private readonly faces: FaceProcessor,
    private readonly compliance: ComplianceService,
    private readonly requirements: EnrolmentImageRequirements,
    private readonly config: Pick<ClaimsConfig, 'tokenTtlSeconds' | 'maxTries'>,
    /** the threshold verification decides with before the partition's minimum is applied */
    private readonly defaultThreshold: number,
    /** compares each live capture with the trusted templates for a morph; absent when MAD is off */
    private readonly differentialMad: DifferentialMad | undefined,
    private readonly observe: (event: ClaimEvent) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  assertCanAcceptImage(): void {
    this.faces.assertCanAccept();
  }

  issueEnrolToken(request: { user_id: string; partition: string; source: ClaimSource }, caller: ClaimCaller): Answer<Mode, IssuedToken> {
    caller.target(request.partition, request.user_id);
    return this.issue('enrol', request.user_id, request.partition, request.source, caller);
  }

  /** Only a user with a trusted photo enrolled can be verified: there is nothing to compare with otherwise. */
  async issueVerifyToken(request: { user_id: string; partition: string }, caller: ClaimCaller): Promise<IssuedToken> {
    caller.target(request.partition, request.user_id);
    await this.biometric.requireSubject(request.partition, request.user_id, TRUSTED_SOURCES);
    return await this.issue('verify', request.user_id, request.partition, null, caller);
  }

  async enrolImage(secret: string, image: Uint8Array, claimedSource: ClaimSource | undefined, caller: ClaimCaller): Promise<ClaimEnrolment> {
    const token = await this.openForImage(secret, 'enrol', caller);
    const source = token.source!;
    if (claimedSource !== undefined && claimedSource !== source) {
      throw new ApiError('source_mismatch', `the image is sent as "${claimedSource}" but the token was issued for "${source}"`, { token_source: source });
    }
    return this.withTry(token, async () => {
      this.requirements.checkFile(image);
      const verdict = await this.compliance.check(image, this.requirements.complianceRequest(source));
      const issues = this.requirements.checkFace(verdict);
      const face = await this.faces.process(image, 'enrol');
      const enrolled = await this.biometric.enrolFace(face, { subject_id: token.userId, partition: token.partition }, source);
      // the template is in the gallery; a crash before this line leaves the token open for another try
      await this.tokens.recordOutcome(token.tokenId, { passed: true, source, quality: enrolled.qualityScore, issues: issues.join(','), mad: face.mad?.status === 'enabled' ? 'passed' : face.mad?.status }, this.now());
      this.observe({ kind: 'enrolled', source });
      return { userId: token.userId, partition: token.partition, source, qualityScore: enrolled.qualityScore, issues, tokenId: token.tokenId };
    });
  }

  /**
   * The live capture: the probe pipeline with PAD, then 1:1 against the user's trusted templates. The
   * outcome is committed before this returns, so an acknowledged capture survives a crash; a capture the
   * pipeline refuses (spoof, no face, poor quality) is an outcome too, a failed one.
   */
  async verifyImage(secret: string, image: Uint8Array, caller: ClaimCaller): Promise<{ tokenId: string; triesLeft: number }> {
    const token = await this.openForImage(secret, 'verify', caller);
    return this.withTry(token, async () => {
      const outcome = await this.compareLiveCapture(token, image);
      await this.tokens.recordOutcome(token.tokenId, outcome, this.now());
      this.observe({ kind: 'verify_outcome', outcome });
      return { tokenId: token.tokenId, triesLeft: token.maxTries - token.triesUsed - 1 };
    });
  }

  /** The verification outcome, once: a second call, or one with another user, key or purpose, is refused. */
  validate(secret: string, userId: string, caller: ClaimCaller): Answer<Mode, ClaimValidation> {
    return whenAnswered(this.find(secret, caller), (token) => {
      if (token.purpose !== 'verify') throw new ApiError('token_wrong_purpose', `this is an ${token.purpose} token; validate a verify token`);
      if (token.validatedAt !== null) throw new ApiError('token_used', 'this token was already validated: its outcome is given once');
      this.assertNotExpired(token);
      if (token.userId !== userId) throw new ApiError('token_wrong_user', 'the token was issued for another user_id');
      const recorded = token.outcome;
      if (!recorded) throw new ApiError('outcome_pending', 'no live capture was posted with this token yet', { tries_left: token.maxTries - token.triesUsed });
      return whenAnswered(this.tokens.markValidated(token.tokenId, this.now()), (marked) => {
        if (!marked) throw new ApiError('token_used', 'this token was already validated: its outcome is given once');
        this.observe({ kind: 'validated', passed: recorded.passed });
        const { at: _at, ...outcome } = recorded;
        return { ...outcome, tokenId: token.tokenId, userId: token.userId, partition: token.partition };
      });
    });
  }

  /** Every token issued for a user with its outcome: what an operator investigating the user's record reads. */
  history(partition: string, userId: string): Answer<Mode, ClaimToken[]> {
    return this.tokens.forUser(partition, userId);
  }

  private issue(purpose: ClaimPurpose, userId: string, partition: string, source: ClaimSource | null, caller: ClaimCaller): Answer<Mode, IssuedToken> {
    const secret = randomBytes(32);
    const secretSha256 = sha256(secret);
    const createdAt = this.now();
    const tokenId = secretSha256.subarray(0, 8).toString('hex');
    const expiresAt = createdAt + this.config.tokenTtlSeconds * 1000;
    return whenAnswered(this.tokens.insert({ tokenId, secretSha256, purpose, userId, partition, source, keyId: caller.keyId, createdAt, expiresAt, maxTries: this.config.maxTries }), () => {
      caller.claimTokenId = tokenId;
      this.observe({ kind: 'token_issued', purpose });
      return { token: secret.toString('base64url'), tokenId, userId, expiresAt };
    });
  }

  /** The token behind a secret, once the caller is known to be the key it was issued to. */
  private find(secret: string, caller: ClaimCaller): Answer<Mode, ClaimToken> {
    // only the canonical spelling: base64url's last character has spare bits, so variants would decode alike
    const bytes = TOKEN_PATTERN.test(secret) ? Buffer.from(secret, 'base64url') : undefined;
    const found = bytes && bytes.toString('base64url') === secret ? this.tokens.findBySecretHash(sha256(bytes)) : settled<Mode, undefined>(undefined);
    return whenAnswered(found, (token: ClaimToken | undefined) => {
      if (!token) throw new ApiError('token_unknown', 'no such token');
      caller.claimTokenId = token.tokenId;
      if (token.keyId !== caller.keyId) throw new ApiError('token_wrong_key', 'the token was issued to another API key');
      caller.target(token.partition, token.userId);
      return token;
    });
  }

  private async openForImage(secret: string, purpose: ClaimPurpose, caller: ClaimCaller): Promise<ClaimToken> {
    const token = await this.find(secret, caller);
    if (token.purpose !== purpose) throw new ApiError('token_wrong_purpose', `this is an ${token.purpose} token; post the image to /api/v1/claim/${token.purpose}/image`);
    if (token.validatedAt !== null || token.outcome?.passed) throw new ApiError('token_used', `this token was already used: ${token.purpose === 'enrol' ? 'the image was enrolled' : 'a capture passed and was recorded'}`);
    this.assertNotExpired(token);
    return token;
  }

  private assertNotExpired(token: ClaimToken): void {
    if (this.now() >= token.expiresAt) throw new ApiError('token_expired', `the token expired at ${new Date(token.expiresAt).toISOString()}`);
  }

  /**
   * Takes a try before the image is looked at (so concurrent posts cannot exceed the limit), and gives
   * it back only when the server could not take the image at all (busy, shutting down).
   */
  private async withTry<T>(token: ClaimToken, work: () => Promise<T>): Promise<T> {
    if (!(await this.tokens.useTry(token.tokenId))) {
      const current = await this.tokens.find(token.tokenId);
      if (current?.outcome?.passed || current?.validatedAt) throw new ApiError('token_used', 'this token was already used');
      throw new ApiError('token_tries_exhausted', `the token's ${token.maxTries} image posts are used up: ask for a new token`, { max_tries: token.maxTries });
    }
    try {
      return await work();
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'service_unavailable' || error.code === 'request_timeout')) await this.tokens.returnTry(token.tokenId);
      throw error;
    }
  }

  /**
   * The live capture against the user's trusted templates. When it matches and MAD is on, each trusted
   * template is also checked against the live one by differential MAD: a trusted photo that is a morph
   * the live person contributed to matches them, and is exactly what a document claim must not accept.
   * A capture that does not match fails as no_match: D-MAD only judges pairs that match (two different
   * people look like a morph pair to it). Nor does it judge a capture unlike those its threshold was set
   * on (too small, turned away): the claim then passes on the match, with mad not_applicable.
   */
  private async compareLiveCapture(token: ClaimToken, image: Uint8Array): Promise<ClaimOutcome> {
    const threshold = this.biometric.threshold(token.partition, this.defaultThreshold);
    const unjudged = this.differentialMad ? 'not_applicable' : 'not_configured';
    let live;
    try {
      live = await this.faces.process(image, 'probe');
    } catch (error) {
      if (error instanceof ApiError && CAPTURE_FAILURES.has(error.code)) return { passed: false, threshold, failureReason: error.code, mad: unjudged };
      throw error;
    }
    const trusted = await this.biometric.requireSubject(token.partition, token.userId, TRUSTED_SOURCES);
    const { score, source } = this.biometric.bestMatch(live.template, trusted);
    const compared = { score, threshold, source, quality: live.quality.score };
    if (score < threshold) return { passed: false, ...compared, mad: unjudged, failureReason: 'no_match' };
    if (!this.differentialMad) return { passed: true, ...compared, mad: 'not_configured' };
    const mad = this.differentialMad;
    const verdicts = trusted.map((template) => mad.judge(template, live));
    if (verdicts.some((verdict) => verdict.decision === 'morph')) return { passed: false, ...compared, mad: 'failed', failureReason: 'morphing_attack_detected' };
    // the capture decides whether D-MAD judges, so it judged every trusted template or none
    return { passed: true, ...compared, mad: verdicts[0].decision === 'not_applicable' ? 'not_applicable' : 'passed' };
  }
}

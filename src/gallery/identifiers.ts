import { ApiError } from '../errors.ts';
import { PARTITION_NAME_PATTERN } from './gallery.ts';

/** Partition names become file names and query parameters, so they are checked before either. */
export function assertPartitionName(partition: string): void {
  if (typeof partition !== 'string' || !PARTITION_NAME_PATTERN.test(partition)) {
    throw new ApiError('invalid_metadata', 'partition must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
  }
}

// With the u flag a valid surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * SQLite stores text as UTF-8, which turns a lone UTF-16 surrogate into U+FFFD: two different ids
 * would then name the same stored subject, so ids that cannot round-trip are refused.
 */
export function assertSubjectId(subjectId: string): void {
  if (typeof subjectId !== 'string' || LONE_SURROGATE.test(subjectId)) {
    throw new ApiError('invalid_metadata', 'subject_id must be well-formed Unicode text');
  }
  // PostgreSQL text cannot hold U+0000; the HTTP layer already refuses it with every control character
  if (subjectId.includes('\u0000')) throw new ApiError('invalid_metadata', 'subject_id must not contain U+0000');
}

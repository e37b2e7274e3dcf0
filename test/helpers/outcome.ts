import { ApiError } from '../../src/errors.ts';

/** The ApiError code a piece of work ends with, or 'ok'; anything that is not an ApiError is a test failure. */
export async function outcomeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'ok';
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

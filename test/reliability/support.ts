import { XMLParser } from 'fast-xml-parser';
import { fixture } from '../helpers/fixtures.ts';
import { postMultipart, readXml } from '../helpers/test-server.ts';

/**
 * Small fixture faces (≈12–15 kB) that pass detection, PAD and the enrolment quality gate at the
 * default settings; the pipeline is deterministic, so they pass every time.
 */
export const ENROLLABLE_FACES = [
  'faces/Ariel_Sharon/1.jpg',
  'faces/Ariel_Sharon/2.jpg',
  'faces/Arnold_Schwarzenegger/1.jpg',
  'faces/Arnold_Schwarzenegger/2.jpg',
  'faces/Colin_Powell/1.jpg',
  'faces/Colin_Powell/2.jpg',
  'faces/Donald_Rumsfeld/1.jpg',
  'faces/Donald_Rumsfeld/2.jpg',
  'faces/George_W_Bush/1.jpg',
  'faces/George_W_Bush/10.jpg',
  'faces/bbt_amy/1.png',
  'faces/bbt_bernadette/1.png',
  'faces/bbt_howard/1.png',
  'faces/bbt_leonard/1.png',
].map((name) => ({ name, bytes: fixture(name) }));

export const faceAt = (i: number) => ENROLLABLE_FACES[i % ENROLLABLE_FACES.length].bytes;

export interface ErrorReply {
  status: number;
  code: string | undefined;
  format: 'xml' | 'json';
}

const errorParser = new XMLParser({ parseTagValue: false });

/** The contract's biometric paths, whose errors are XML. */
const BIOMETRIC_PATHS = ['/api/v1/search', '/api/v1/verify', '/api/v1/enrol', '/api/v1/delete'];

/** Status and error code of any reply, in the format the path promises: XML on biometric paths, JSON elsewhere. */
export async function readErrorReply(response: Response, path: string): Promise<ErrorReply> {
  const text = await response.text();
  if (BIOMETRIC_PATHS.includes(path)) {
    const parsed = errorParser.parse(text) as { ErrorResponse?: { code?: string } };
    return { status: response.status, code: parsed.ErrorResponse?.code, format: 'xml' };
  }
  return { status: response.status, code: (JSON.parse(text) as { code?: string }).code, format: 'json' };
}

export async function enrol(url: string, subjectId: string, partition: string, image: Buffer) {
  return readXml(await postMultipart(url, '/api/v1/enrol', { image, metadata: { subject_id: subjectId, partition } }));
}

/** Server config for tests that list partitions with subjectsIn: the threshold floor would hide the unlike subjects. */
export const LISTABLE_CONFIG = { policy: { defaults: { minThreshold: 0 } } };

/** Every subject of a partition (it must hold fewer than 100), by a threshold-0 search; the server needs LISTABLE_CONFIG. */
export async function subjectsIn(url: string, partition: string, probe: Buffer = faceAt(0)): Promise<Set<string>> {
  const reply = await readXml(await postMultipart(url, '/api/v1/search', { image: probe, metadata: { partition, top_k: 100, threshold: 0 } }));
  if (reply.status === 404 && reply.body.code === 'unknown_partition') return new Set();
  if (reply.status !== 200) throw new Error(`search of ${partition} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const candidates = (reply.body.candidates?.candidate ?? []) as Array<{ subject_id: string }>;
  if (candidates.length >= 100) throw new Error(`partition ${partition} holds too many subjects to list by search`);
  return new Set(candidates.map((c) => String(c.subject_id)));
}

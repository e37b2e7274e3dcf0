import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGallery, type Gallery } from '../../src/gallery/index.ts';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { loadTemplateCipher } from '../../src/security/template-key.ts';
import { postJson, postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { enrol, faceAt, LISTABLE_CONFIG, subjectsIn } from './support.ts';

// Concurrent enrol / delete / search / verify against one real server. Each history is checked for
// linearizability: some serial order of the acknowledged operations, respecting real time (an
// operation answered before another was sent comes first), must explain every answer and the
// template count SQLite holds at the end.

const PARTITION = 'busy';

type Kind = 'enrol' | 'delete' | 'verify' | 'search';

interface Operation {
  kind: Kind;
  /** enrol/delete: took effect; verify/search: saw the subject */
  effective: boolean;
  sentAt: number;
  answeredAt: number;
}

let server: TestServer;

/** Deterministic interleavings: the same seed sends the same sequence with the same stagger. */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(subjectId: string, kind: Kind, image: Buffer): Promise<Operation> {
  const sentAt = performance.now();
  const metadata = { subject_id: subjectId, partition: PARTITION };
  let effective: boolean;
  if (kind === 'search') {
    effective = (await subjectsIn(server.url, PARTITION, image)).has(subjectId);
  } else {
    const response =
      kind === 'delete'
        ? await postJson(server.url, '/api/v1/delete', metadata)
        : await postMultipart(server.url, `/api/v1/${kind}`, { image, metadata });
    const reply = await readXml(response);
    // Only two answers are consistent with the operation's meaning; anything else fails the test.
    const allowed = kind === 'enrol' ? [200] : [200, 404];
    expect(allowed, `${kind} answered ${reply.status} ${JSON.stringify(reply.body)}`).toContain(reply.status);
    if (reply.status === 404) expect(reply.body.code).toBe('unknown_subject');
    effective = reply.status === 200;
  }
  return { kind, effective, sentAt, answeredAt: performance.now() };
}

/**
 * True when some order of `history` consistent with real time leads from no templates to
 * `finalTemplates`: enrol adds one, an effective delete needs some and removes all, a refused
 * delete, a 404 verify and a search without the subject need none, the others need some.
 */
function linearizable(history: Operation[], finalTemplates: number): boolean {
  const mustFollow = history.map((op) => history.flatMap((other, j) => (other.answeredAt < op.sentAt ? [j] : [])));
  const seen = new Set<string>();
  const explore = (done: number, templates: number): boolean => {
    if (done === (1 << history.length) - 1) return templates === finalTemplates;
    const key = `${done}:${templates}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return history.some((op, i) => {
      if (done & (1 << i) || mustFollow[i].some((j) => !(done & (1 << j)))) return false;
      const next = done | (1 << i);
      if (op.kind === 'enrol') return explore(next, templates + 1);
      if (op.effective !== templates > 0) return false;
      return explore(next, op.kind === 'delete' ? 0 : templates);
    });
  };
  return explore(0, 0);
}

/** Closes the server and opens its data directly: what is durable, not what the server holds in memory. */
async function inspectGallery<T>(read: (gallery: Gallery) => Promise<T>): Promise<T> {
  await server.close();
  const gallery = await openGallery({
    dataDir: server.dataDir,
    flushDelayMs: 0,
    logger: quietLogger,
    cipher: loadTemplateCipher(server.config.encryption, server.dataDir, quietLogger),
  });
  try {
    return await read(gallery);
  } finally {
    await gallery.close();
  }
}

const ROUNDS = [1, 2, 3, 4].map((seed) => ({ seed, subjectId: `contended-${seed}` }));
const histories = new Map<string, Operation[]>();

beforeAll(async () => {
  server = await startTestServer(LISTABLE_CONFIG);
  // The partition exists before the contended operations, so none is refused as unknown_partition.
  expect((await enrol(server.url, 'bystander', PARTITION, faceAt(7))).status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
});

describe('concurrent operations on one subject', () => {
  it('has a checker that refuses histories no serial order explains', () => {
    const op = (kind: Kind, effective: boolean, sentAt: number, answeredAt: number): Operation => ({ kind, effective, sentAt, answeredAt });
    // Acknowledged enrol, then a delete sent afterwards that found nothing.
    expect(linearizable([op('enrol', true, 0, 1), op('delete', false, 2, 3)], 1)).toBe(false);
    // The same answers while the two overlapped: the delete may have run first.
    expect(linearizable([op('enrol', true, 0, 3), op('delete', false, 1, 2)], 1)).toBe(true);
    // A search that saw the subject after its acknowledged delete, with nothing enrolled in between.
    expect(linearizable([op('enrol', true, 0, 1), op('delete', true, 2, 3), op('search', true, 4, 5)], 0)).toBe(false);
    // Two acknowledged enrolments cannot leave one template.
    expect(linearizable([op('enrol', true, 0, 2), op('enrol', true, 1, 3)], 1)).toBe(false);
  });

  it.each(ROUNDS)('seed $seed: every answer fits one serial order', async ({ seed, subjectId }) => {
    const next = random(seed);
    const image = faceAt(seed);
    const kinds: Kind[] = ['enrol', 'enrol', 'enrol', 'enrol', 'enrol', 'delete', 'delete', 'delete', 'verify', 'verify', 'verify', 'search', 'search', 'search'];
    kinds.sort(() => next() - 0.5);
    const history = await Promise.all(
      kinds.map(async (kind) => {
        await sleep(Math.floor(next() * 250));
        return run(subjectId, kind, image);
      }),
    );
    histories.set(subjectId, history);
    expect(history.filter((op) => op.kind === 'enrol').every((op) => op.effective)).toBe(true);
  });

  it('leaves SQLite and FAISS in agreement, with template counts that fit each history', async () => {
    const { healthy, counts, templates } = await inspectGallery(async (gallery) => ({
      healthy: await gallery.isHealthy(),
      counts: await gallery.templateCounts(PARTITION),
      templates: Object.fromEntries(await Promise.all(ROUNDS.map(async ({ subjectId }) => [subjectId, (await gallery.subjectTemplates(PARTITION, subjectId))?.length ?? 0] as const))),
    }));
    expect(healthy).toBe(true);
    expect(counts.index).toBe(counts.sqlite);
    expect(histories.size).toBe(ROUNDS.length);
    for (const { subjectId } of ROUNDS) {
      expect(linearizable(histories.get(subjectId)!, templates[subjectId]), `${subjectId}: ${JSON.stringify(histories.get(subjectId))}`).toBe(true);
    }
    expect(counts.sqlite).toBe(1 + Object.values(templates).reduce((sum, n) => sum + n, 0));
  });
});

describe('concurrent deletes and reads', () => {
  let own: TestServer;

  beforeAll(async () => {
    own = await startTestServer(LISTABLE_CONFIG);
  });

  afterAll(async () => {
    await own?.stop();
  });

  it('never finds a subject whose delete was acknowledged before the read was sent', async () => {
    const subjects = Array.from({ length: 10 }, (_, i) => ({ id: `doomed-${i}`, image: faceAt(i) }));
    await Promise.all(subjects.map(async (s) => expect((await enrol(own.url, s.id, PARTITION, s.image)).status).toBe(200)));

    const deletedAt = new Map<string, number>();
    const deletes = subjects.map(async (s, i) => {
      await sleep(i * 25);
      const reply = await readXml(await postJson(own.url, '/api/v1/delete', { subject_id: s.id, partition: PARTITION }));
      expect(reply.status).toBe(200);
      deletedAt.set(s.id, performance.now());
    });
    const reads = Array.from({ length: 12 }, async (_, i) => {
      await sleep(i * 20);
      const sentAt = performance.now();
      const alreadyDeleted = [...deletedAt].filter(([, at]) => at < sentAt).map(([id]) => id);
      const found = await subjectsIn(own.url, PARTITION, faceAt(i));
      for (const id of alreadyDeleted) expect(found, `${id} was deleted before this search`).not.toContain(id);
      const target = subjects[i % subjects.length];
      if (alreadyDeleted.includes(target.id)) {
        const verify = await readXml(await postMultipart(own.url, '/api/v1/verify', { image: target.image, metadata: { subject_id: target.id, partition: PARTITION } }));
        expect(verify.body.code).toBe('unknown_subject');
      }
      return alreadyDeleted.length;
    });
    const [, checked] = await Promise.all([Promise.all(deletes), Promise.all(reads)]);
    // The reads must overlap the deletes, or the test proves nothing.
    expect(checked.some((n) => n > 0 && n < subjects.length)).toBe(true);
    expect(await subjectsIn(own.url, PARTITION)).toEqual(new Set());
  });

  it('creates a new partition once when many enrolments race to create it', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => enrol(own.url, `first-${i}`, 'brand_new', faceAt(i))));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const partitions = await (await fetch(`${own.url}/api/v1/partitions`)).json();
    expect(partitions.partitions.filter((p: string) => p === 'brand_new')).toHaveLength(1);
    const stats = await (await fetch(`${own.url}/api/v1/stats`)).json();
    expect(stats.partitions.brand_new).toBe(8);
  });
});

import { watch } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGallery } from '../../src/gallery/index.ts';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { loadTemplateCipher } from '../../src/security/template-key.ts';
import { scratchDataDir, startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { postJson, postMultipart, readXml } from '../helpers/test-server.ts';
import { faceAt, LISTABLE_CONFIG, subjectsIn } from './support.ts';

// The real server in a child process, SIGKILLed at chosen moments and restarted on the same data.
// Whatever the moment, after a restart: every acknowledged write holds, nothing refused appears,
// a write whose answer was lost may have gone either way, and FAISS agrees with SQLite.

const PARTITIONS = ['crash_a', 'crash_b'];
// Small so index saves run during and right after each burst, where a kill can catch them.
const SERVER_CONFIG = { indexFlushDelayMs: 15, ...LISTABLE_CONFIG };

type Presence = 'present' | 'absent' | 'unknown';
type Outcome = 'acknowledged' | 'refused' | 'lost';

interface Subject {
  partition: string;
  id: string;
  image: Buffer;
}

const keyOf = (s: { partition: string; id: string }) => `${s.partition}/${s.id}`;

let scratch: ReturnType<typeof scratchDataDir>;
let server: ChildServer | undefined;
/** what the test knows about every subject it ever tried to enrol */
const expected = new Map<string, Presence>();
const images = new Map<string, Buffer>();
const kills: string[] = [];

/**
 * Sends every request at once and SIGKILLs the server when `killAfter` of them have been acknowledged.
 * A 503 request_timeout is "lost", not "refused": the work behind a timed-out request still completes.
 */
async function burst<T>(requests: Array<{ item: T; send: () => Promise<Response> }>, killAfter?: number): Promise<Array<{ item: T; outcome: Outcome; code?: string }>> {
  let acknowledged = 0;
  let killing: Promise<void> | undefined;
  const results = await Promise.all(
    requests.map(async ({ item, send }) => {
      try {
        const reply = await readXml(await send());
        if (reply.status === 200) {
          if (killAfter !== undefined && ++acknowledged >= killAfter) killing ??= server!.kill();
          return { item, outcome: 'acknowledged' as const };
        }
        const code = String(reply.body.code);
        return { item, outcome: code === 'request_timeout' ? ('lost' as const) : ('refused' as const), code };
      } catch {
        return { item, outcome: 'lost' as const };
      }
    }),
  );
  await killing;
  return results;
}

function enrolBurst(round: string, count: number, killAfter?: number) {
  const subjects: Subject[] = Array.from({ length: count }, (_, i) => ({ partition: PARTITIONS[i % PARTITIONS.length], id: `${round}-${i}`, image: faceAt(i) }));
  for (const subject of subjects) {
    expected.set(keyOf(subject), 'unknown');
    images.set(keyOf(subject), subject.image);
  }
  return burst(
    subjects.map((item) => ({ item, send: () => postMultipart(server!.url, '/api/v1/enrol', { image: item.image, metadata: { subject_id: item.id, partition: item.partition } }) })),
    killAfter,
  ).then((results) => {
    for (const { item, outcome } of results) if (outcome !== 'lost') expected.set(keyOf(item), outcome === 'acknowledged' ? 'present' : 'absent');
    return results;
  });
}

function deleteBurst(subjects: Subject[], killAfter?: number) {
  for (const subject of subjects) expected.set(keyOf(subject), 'unknown');
  return burst(
    subjects.map((item) => ({ item, send: () => postJson(server!.url, '/api/v1/delete', { subject_id: item.id, partition: item.partition }) })),
    killAfter,
  ).then((results) => {
    // A refused delete (404) found nothing to delete, so either way the subject is gone.
    for (const { item, outcome } of results) if (outcome !== 'lost') expected.set(keyOf(item), 'absent');
    return results;
  });
}

function present(): Subject[] {
  return [...expected].filter(([, presence]) => presence === 'present').map(([key]) => {
    const [partition, id] = key.split('/');
    return { partition, id, image: images.get(key)! };
  });
}

/**
 * Restarts on the same data and checks {acknowledged} ⊆ found ⊆ {attempted, not refused} through the
 * API, then stops the server and checks through the gallery itself that every FAISS index holds as
 * many templates as SQLite. Afterwards the test knows exactly which subjects exist.
 */
async function restartAndCheck(): Promise<Set<string>> {
  server = await startChildServer({ dataDir: scratch.dataDir, config: SERVER_CONFIG });
  const found = new Set<string>();
  for (const partition of PARTITIONS) for (const id of await subjectsIn(server.url, partition)) found.add(keyOf({ partition, id }));

  for (const [key, presence] of expected) {
    if (presence === 'present') expect(found, `acknowledged ${key} is missing after the restart`).toContain(key);
    if (presence === 'absent') expect(found, `${key} was refused or deleted, yet it is back`).not.toContain(key);
  }
  for (const key of found) expect(expected.has(key), `${key} was never enrolled`).toBe(true);

  // Search lists subjects; verify proves each acknowledged one still matches its own photo.
  for (const subject of present()) {
    const reply = await readXml(await postMultipart(server.url, '/api/v1/verify', { image: subject.image, metadata: { subject_id: subject.id, partition: subject.partition } }));
    expect(reply.status).toBe(200);
    expect(reply.body.match).toBe('true');
  }

  await server.stop();
  server = undefined;
  const gallery = await openGallery({ dataDir: scratch.dataDir, flushDelayMs: 0, logger: quietLogger, cipher: loadTemplateCipher({}, scratch.dataDir, quietLogger) });
  try {
    expect(await gallery.isHealthy()).toBe(true);
    for (const partition of PARTITIONS) {
      const counts = await gallery.templateCounts(partition);
      expect(counts.index).toBe(counts.sqlite);
      // Every subject here was enrolled once, so a partition holds one template per subject found.
      expect(counts.sqlite).toBe([...found].filter((key) => key.startsWith(`${partition}/`)).length);
    }
  } finally {
    await gallery.close();
  }

  for (const key of expected.keys()) expected.set(key, found.has(key) ? 'present' : 'absent');
  server = await startChildServer({ dataDir: scratch.dataDir, config: SERVER_CONFIG });
  return found;
}

beforeAll(async () => {
  scratch = scratchDataDir();
  server = await startChildServer({ dataDir: scratch.dataDir, config: SERVER_CONFIG });
});

afterAll(async () => {
  await server?.kill();
  scratch?.remove();
});

describe('SIGKILL and restart', () => {
  it('keeps every acknowledged enrolment when killed mid-burst', async () => {
    const results = await enrolBurst('mid-burst', 30, 10);
    kills.push('mid-burst enrol');
    const lost = results.filter((r) => r.outcome === 'lost').length;
    expect(lost, 'the kill should have cut some requests off').toBeGreaterThan(0);
    const found = await restartAndCheck();
    expect(found.size).toBeGreaterThanOrEqual(10);
  });

  it.each([
    { name: 'right after the burst, before the debounced index save', delayMs: 0 },
    { name: 'after the debounced index save', delayMs: SERVER_CONFIG.indexFlushDelayMs * 4 },
  ])('keeps a finished burst when killed $name', async ({ name, delayMs }) => {
    const results = await enrolBurst(`after-burst-${delayMs}`, 12);
    expect(results.every((r) => r.outcome === 'acknowledged')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    await server!.kill();
    kills.push(name);
    await restartAndCheck();
  });

  it('keeps every acknowledged enrolment when killed as an index save begins', async () => {
    // The save writes <partition>.faiss.tmp first; the kill is sent the moment that file appears,
    // so it lands while the index and its sidecar are being written and synced.
    const watcher = watch(join(scratch.dataDir, 'indexes'));
    let killing: Promise<void> | undefined;
    watcher.on('change', (_event, file) => {
      if (String(file).endsWith('.tmp')) killing ??= server!.kill();
    });
    try {
      await enrolBurst('index-save', 12);
      expect(killing, 'no index save started during the burst').toBeDefined();
      await killing;
    } finally {
      watcher.close();
    }
    kills.push('as an index save begins');
    await restartAndCheck();
  });

  it('loses no acknowledged delete or enrolment when killed during deletes', async () => {
    const victims = present().filter((s) => s.partition === PARTITIONS[0]);
    expect(victims.length).toBeGreaterThanOrEqual(10);
    // Deletes and new enrolments interleave, so both kinds of index change are in flight at the kill.
    const [deletes, enrols] = await Promise.all([deleteBurst(victims, 5), enrolBurst('during-deletes', 10)]);
    kills.push('during deletes');
    expect(deletes.some((r) => r.outcome === 'acknowledged')).toBe(true);
    expect([...deletes, ...enrols].some((r) => r.outcome === 'lost'), 'the kill should have cut some requests off').toBe(true);
    await restartAndCheck();
  });

  it('ends with a server that shuts down cleanly and loads its saved indexes', async () => {
    expect(kills).toHaveLength(5);
    await server!.stop();
    server = await startChildServer({ dataDir: scratch.dataDir, config: SERVER_CONFIG });
    expect(server.output()).not.toContain('rebuilt FAISS index');
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
  });
});

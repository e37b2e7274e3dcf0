// Two API servers (real src/main.ts processes) over one PostgreSQL gallery: what one enrols the other finds
// and deletes; and a primary killed with SIGKILL in the middle of a burst of enrolments loses none that
// were acknowledged. API keys, the audit log, claim tokens and photo jobs are shared too (two-nodes-shared-state.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildServerGroup, type ChildServer } from '../helpers/child-server.ts';
import { postJson, readXml } from '../helpers/test-server.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';
import { ENROLLABLE_FACES, enrol, faceAt, LISTABLE_CONFIG, subjectsIn } from '../reliability/support.ts';

// one pipeline worker each: two servers share the test machine's two cores
const NODE_CONFIG = { ...LISTABLE_CONFIG, pipeline: { workers: 1 } };

let primary: PostgresServer;
const nodes = new ChildServerGroup();

describe.skipIf(!postgresInstalled())('two API nodes over one PostgreSQL gallery', () => {
  let a: ChildServer;
  let b: ChildServer;

  beforeAll(async () => {
    primary = await startPrimary();
    const env = { DATABASE_URL: await primary.createDatabase('faces') };
    [a, b] = await Promise.all([nodes.start({ config: NODE_CONFIG, env }), nodes.start({ config: NODE_CONFIG, env })]);
  }, 180_000);

  afterAll(async () => {
    await nodes.stopAll();
    primary?.destroy();
  });

  it('finds on one node what the other enrolled, and forgets it on both when the other deletes it', async () => {
    const [sharon1, sharon2] = [ENROLLABLE_FACES[0].bytes, ENROLLABLE_FACES[1].bytes];
    expect((await enrol(a.url, 'sharon', 'gate', sharon1)).status).toBe(200);
    expect((await enrol(b.url, 'powell', 'gate', ENROLLABLE_FACES[4].bytes)).status).toBe(200);

    for (const node of [a, b]) expect(await subjectsIn(node.url, 'gate', sharon2)).toEqual(new Set(['sharon', 'powell']));
    const stats = await (await fetch(`${b.url}/api/v1/stats`)).json();
    expect(stats.partitions).toMatchObject({ gate: 2 });

    const deleted = await readXml(await postJson(b.url, '/api/v1/delete', { subject_id: 'sharon', partition: 'gate' }));
    expect(deleted.status).toBe(200);
    expect(await subjectsIn(a.url, 'gate', sharon2)).toEqual(new Set(['powell']));
  }, 120_000);

  it('keeps every acknowledged enrolment when the primary is killed mid-burst, and answers 503 while it is down', async () => {
    const subjects = Array.from({ length: 16 }, (_, i) => ({ id: `burst-${i}`, image: faceAt(i) }));
    let acknowledged = 0;
    let killed = false;
    const outcomes = await Promise.all(
      subjects.map(async ({ id, image }, i) => {
        const node = i % 2 === 0 ? a : b;
        const reply = await enrol(node.url, id, 'burst', image).catch(() => ({ status: 0, body: {} as Record<string, unknown> }));
        if (reply.status === 200 && ++acknowledged === 4 && !killed) {
          killed = true;
          primary.kill();
        }
        return { id, status: reply.status, code: reply.body.code };
      }),
    );
    expect(killed).toBe(true);
    // while the primary is down, the gallery's answer is "unavailable", never a crash or a 500
    for (const { status, code } of outcomes) if (status !== 200) expect([status, code]).toEqual([503, 'service_unavailable']);
    const refused = await enrol(a.url, 'while-down', 'burst', faceAt(0));
    expect([refused.status, refused.body.code]).toEqual([503, 'service_unavailable']);

    primary.start();
    const present = await subjectsIn(b.url, 'burst');
    for (const { id, status } of outcomes) if (status === 200) expect(present.has(id), `acknowledged ${id} lost`).toBe(true);
    expect(present.has('while-down')).toBe(false);
    expect(outcomes.filter((o) => o.status === 200).length).toBeGreaterThanOrEqual(4);
  }, 180_000);
});

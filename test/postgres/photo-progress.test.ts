// Analyze progress relayed between API nodes over PostgreSQL LISTEN/NOTIFY (src/photo/postgres-progress-relay.ts):
// two hubs with a relay each over one database stand for two nodes; the cluster is the test's own.
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool } from '../../src/postgres/pool.ts';
import { PostgresProgressRelay } from '../../src/photo/postgres-progress-relay.ts';
import { ProgressHub, type ProgressEvent } from '../../src/photo/progress.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';

const silent = pino({ level: 'silent' });
const KEY = 'fsk_aaaaaaaaaaaa';

/** resolves once `hub` has given `count` events of (owner, clientJobId) to a listener */
function collect(hub: ProgressHub, owner: string | null, clientJobId: string, count: number): { events: ProgressEvent[]; done: Promise<ProgressEvent[]> } {
  const events: ProgressEvent[] = [];
  const done = new Promise<ProgressEvent[]>((resolve) => {
    hub.subscribe(owner, clientJobId, (event) => {
      events.push(event);
      if (events.length === count) resolve(events);
    });
  });
  return { events, done };
}

describe.skipIf(!postgresInstalled())('photo progress relayed between nodes over PostgreSQL', () => {
  let primary: PostgresServer;
  const pools: pg.Pool[] = [];
  const relays: PostgresProgressRelay[] = [];

  async function node(url: string): Promise<ProgressHub> {
    const pool = openPool(url, 2, silent, 'test');
    pools.push(pool);
    const hub = new ProgressHub(60_000);
    relays.push(await PostgresProgressRelay.start(url, pool, hub, silent));
    return hub;
  }

  beforeAll(async () => {
    primary = await startPrimary();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.close()));
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
    primary?.destroy();
  });

  it('gives a stream on node B the steps of a job running on node A, in order, to the same key only', async () => {
    const [a, b] = await Promise.all([node(primary.url()), node(primary.url())]);
    const onB = collect(b, KEY, 'job-1', 4);
    const foreign = collect(b, 'fsk_bbbbbbbbbbbb', 'job-1', 1);
    const onA = collect(a, KEY, 'job-1', 4);
    const steps: ProgressEvent[] = [
      { percent: 0, stage: 'started' },
      { percent: 30, stage: 'landmarks' },
      { percent: 95, stage: 'background' },
      { percent: 100, stage: 'done' },
    ];
    // a notification no node sent is ignored, and the listeners go on
    await pools[0].query("SELECT pg_notify('faceserver_photo_progress', 'not json')");
    for (const step of steps) a.report(KEY, 'job-1', step);
    expect(await onB.done).toEqual(steps);
    // A's own listener had each step once (its own notifications are not delivered twice)
    expect(await onA.done).toEqual(steps);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(onA.events).toHaveLength(4);
    expect(foreign.events).toEqual([]);

    // a stream opened on B after the job ended is sent what happened, as on the node that ran it
    expect(await collect(b, KEY, 'job-1', 4).done).toEqual(steps);
  });

  it('listens again after its connection is lost, and relays from then on', async () => {
    const admin = new pg.Pool({ connectionString: primary.url() });
    pools.push(admin);
    const listening = async () => (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'LISTEN faceserver_photo_progress'")).rows[0].n;
    const [a, b] = await Promise.all([node(primary.url()), node(primary.url())]);
    const before = await listening();
    // what a restarted server or a fail-over does to the listening connections: every one of them is cut
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN faceserver_photo_progress'");
    const deadline = Date.now() + 15_000;
    while ((await listening()) < before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await listening()).toBe(before);
    const onB = collect(b, KEY, 'job-2', 1);
    a.report(KEY, 'job-2', { percent: 0, stage: 'started' });
    expect(await onB.done).toEqual([{ percent: 0, stage: 'started' }]);
  }, 30_000);
});

// The gallery contract against PostgreSQL + pgvector (a cluster of the test's own), exact and through the
// partitions' HNSW indexes.
import { pino } from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresGallery, type PostgresGalleryOptions } from '../../src/gallery/postgres/postgres-gallery.ts';
import { describeGalleryContract } from '../helpers/gallery-contract.ts';
import { ReferenceGallery, nearbyUnitVector, populate, randomUnitVector, DIMENSION } from '../helpers/gallery-support.ts';
import { postgresInstalled, startPrimary, startStandby, type PostgresServer } from '../helpers/postgres-cluster.ts';
import { ApiError } from '../../src/errors.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

let primary: PostgresServer;
let databases = 0;
let database = '';

const optionsFor = (url: string, approximateAbove?: number, readUrl?: string): PostgresGalleryOptions => ({
  url,
  readUrl,
  dimension: DIMENSION,
  approximateAbove,
  efSearch: 40,
  poolSize: 4,
  logger: pino({ level: 'silent' }),
});

async function inDatabase<T>(name: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: primary.url(name) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const admin = <T>(work: (client: pg.Client) => Promise<T>) => inDatabase('postgres', work);

describe.skipIf(!postgresInstalled())('PostgreSQL + pgvector gallery', () => {
  beforeAll(async () => {
    primary = await startPrimary();
  }, 60_000);

  afterAll(() => primary?.destroy());

  describe('contract', () => {
    describeGalleryContract({
      create: async () => {
        database = `contract_${++databases}`;
        await admin((client) => client.query(`CREATE DATABASE ${database}`));
        return PostgresGallery.open(optionsFor(primary.url(database)));
      },
      open: () => PostgresGallery.open(optionsFor(primary.url(database))),
      stored: () =>
        inDatabase(database, async (client) => {
          const { rows } = await client.query('SELECT (SELECT count(*) FROM partitions) AS partitions, (SELECT count(*) FROM subjects) AS subjects, (SELECT count(*) FROM templates) AS templates');
          return rows[0];
        }),
      destroy: () => admin((client) => client.query(`DROP DATABASE ${database} WITH (FORCE)`)).then(() => undefined),
    });
  });

  describe('approximate', () => {
    it('answers through a partition\'s HNSW index once it outgrows exact search, as exact search does on a planted mate', async () => {
      database = `approximate_${++databases}`;
      await admin((client) => client.query(`CREATE DATABASE ${database}`));
      const gallery = await PostgresGallery.open(optionsFor(primary.url(database), 200));
      try {
        const random = seededRandom(31);
        const reference = new ReferenceGallery();
        const identities = await populate(gallery, reference, random, { partitions: ['large', 'small'], subjectsPerPartition: 150, maxTemplatesPerSubject: 2 });
        const indexes = await inDatabase(database, async (client) =>
          (await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'templates_hnsw_%'")).rows.map((row) => row.indexname),
        );
        expect(indexes).toHaveLength(2);
        // probes near enrolled templates: each one's own subject comes first, as brute force says
        let agree = 0;
        const probeCount = 40;
        for (let i = 0; i < probeCount; i++) {
          const partition = i % 2 === 0 ? 'large' : 'small';
          const probe = nearbyUnitVector(random, identities[(i * 7) % identities.length], 0.6);
          const [best] = await gallery.search(partition, probe, 1);
          if (best?.subjectId === reference.rank(partition, probe)[0].subjectId) agree++;
        }
        expect(agree).toBe(probeCount);
        expect(await gallery.search('large', randomUnitVector(random), 3, new Set(['eid']))).toEqual([]);
      } finally {
        await gallery.close();
        await admin((client) => client.query(`DROP DATABASE ${database} WITH (FORCE)`));
      }
    }, 120_000);
  });

  describe('hot standby', () => {
    it('searches on the standby once it has replayed the enrolment, writes on the primary, and answers 503 when the standby is gone', async () => {
      database = `standby_${++databases}`;
      await admin((client) => client.query(`CREATE DATABASE ${database}`));
      const standby = await startStandby(primary);
      const gallery = await PostgresGallery.open(optionsFor(primary.url(database), undefined, standby.url(database)));
      try {
        const random = seededRandom(47);
        const template = randomUnitVector(random);
        await gallery.enrol('gate', 'alice', { template, modelId: 'm', quality: 1, source: 'enrol' });
        const { rows } = await inDatabase(database, (client) => client.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn'));
        const reader = new pg.Client({ connectionString: standby.url(database) });
        await reader.connect();
        try {
          for (let tries = 0; tries < 100; tries++) {
            if ((await reader.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up', [rows[0].lsn])).rows[0].caught_up) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          await reader.end();
        }
        expect(await gallery.search('gate', template, 1)).toEqual([{ subjectId: 'alice', similarity: expect.closeTo(1, 4) }]);
        expect((await gallery.subjectTemplates('gate', 'alice'))?.map((t) => t.source)).toEqual(['enrol']);

        // reads depend on the standby, writes only on the primary
        standby.stop();
        const lost = await gallery.search('gate', template, 1).catch((error: unknown) => error);
        expect(lost).toBeInstanceOf(ApiError);
        expect((lost as ApiError).code).toBe('service_unavailable');
        await gallery.enrol('gate', 'bob', { template: randomUnitVector(random), modelId: 'm', quality: 1, source: 'enrol' });
        expect(await gallery.subjectCounts()).toEqual({ gate: 2 });
      } finally {
        await gallery.close();
        standby.destroy();
        await admin((client) => client.query(`DROP DATABASE ${database} WITH (FORCE)`));
      }
    }, 120_000);
  });
});

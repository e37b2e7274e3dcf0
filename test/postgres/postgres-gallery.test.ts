// The gallery contract against PostgreSQL + pgvector (a cluster of the test's own), exact and through the
// partitions' HNSW indexes.
import { pino } from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresGallery, type PostgresGalleryOptions } from '../../src/gallery/postgres/postgres-gallery.ts';
import { describeGalleryContract } from '../helpers/gallery-contract.ts';
import { ReferenceGallery, nearbyUnitVector, populate, randomUnitVector, DIMENSION } from '../helpers/gallery-support.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

let primary: PostgresServer;
let databases = 0;
let database = '';

const optionsFor = (url: string, approximateAbove = 100_000): PostgresGalleryOptions => ({
  url,
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
});

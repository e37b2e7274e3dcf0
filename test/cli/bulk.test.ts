import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { FIXTURES_DIR, fixture } from '../helpers/fixtures.ts';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { postMultipart } from '../helpers/test-server.ts';

interface CliRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The real command, as `npm run cli` runs it, in its own process. */
function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', resolve(PROJECT_ROOT, 'src/cli/bulk.ts'), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString('utf8') }),
    );
  });
}

async function start(dataDir: string): Promise<RunningServer> {
  return startServer(loadConfig({}, { port: 0, host: '127.0.0.1', dataDir, indexFlushDelayMs: 50 }), quietLogger);
}

async function searchXml(url: string, probe: string, partition: string): Promise<string> {
  const response = await postMultipart(url, '/api/v1/search', { image: fixture(probe), metadata: { partition, top_k: 5 } });
  expect(response.status).toBe(200);
  return response.text();
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'faceserver-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('enrol-dir', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(join(work, 'enrol-data'));
  });
  afterAll(() => server.close());

  it('enrols the 150 fixture faces by folder name with a progress bar, then prints the refusals by code', async () => {
    const checkpoint = join(work, 'faces.checkpoint.jsonl');
    const run = await cli(['enrol-dir', join(FIXTURES_DIR, 'faces'), '--partition', 'fixtures', '--url', server.url, '--checkpoint', checkpoint], {});
    expect(run.stderr).toContain('150 images');
    expect(run.code, run.stderr).toBe(0);
    // not a terminal: a progress line every 25 photos and one at the end, each with rate and ETA
    expect(run.stderr).toMatch(/enrol \[#{30}\] 150\/150 [\d.]+\/s ETA 00:00/);
    expect(run.stderr.match(/^enrol \[/gm)?.length).toBe(6);
    const outcomes = readFileSync(checkpoint, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { item: string; outcome: string });
    expect(outcomes).toHaveLength(150);
    const enrolled = outcomes.filter((entry) => entry.outcome === 'ok');
    expect(run.stderr).toContain(`enrolled ${enrolled.length}, refused ${150 - enrolled.length}`);
    const counts = new Map<string, number>();
    for (const { outcome } of outcomes) if (outcome !== 'ok') counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    for (const [code, count] of counts) expect(run.stderr).toContain(`  ${code}: ${count}`);
    if (counts.size === 0) expect(run.stderr).toContain('refusals: none');
    const stats = (await (await fetch(`${server.url}/api/v1/stats`)).json()) as { partitions: Record<string, number> };
    expect(stats.partitions.fixtures).toBe(new Set(enrolled.map((entry) => entry.item.split('/')[0])).size);
    const alice = (await (await fetch(`${server.url}/api/v1/subjects/fixtures/london_001`)).json()) as { templates: unknown[] };
    expect(alice.templates.length).toBe(enrolled.filter((entry) => entry.item.startsWith('london_001/')).length);
  }, 600_000);

  it('summarises refusals by code, and a second run resumes from the checkpoint without enrolling a photo twice', async () => {
    const dir = join(work, 'mixed');
    const place = (target: string, source: string) => {
      mkdirSync(join(dir, target, '..'), { recursive: true });
      symlinkSync(join(FIXTURES_DIR, source), join(dir, target));
    };
    place('alice/1.jpg', 'faces/london_001/1.jpg');
    place('alice/2.jpg', 'faces/london_001/2.jpg');
    place('bob/1.jpg', 'nonfaces/01.jpg');
    place('carol.jpg', 'faces/london_002/1.jpg');
    const checkpoint = join(work, 'mixed.checkpoint.jsonl');
    const args = ['enrol-dir', dir, '--partition', 'mixed', '--url', server.url, '--checkpoint', checkpoint];
    const first = await cli(args, {});
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('enrolled 3, refused 1, done before 0');
    expect(first.stderr).toContain('refusals by code:\n  no_face_detected: 1');

    place('dave/1.jpg', 'faces/london_003/1.jpg');
    const second = await cli(args, {});
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('5 images, checkpoint');
    expect(second.stderr).toContain('enrolled 1, refused 0, done before 4');
    expect(second.stderr).toContain('no_face_detected: 1'); // the summary covers every run
    const alice = (await (await fetch(`${server.url}/api/v1/subjects/mixed/alice`)).json()) as { templates: unknown[] };
    expect(alice.templates).toHaveLength(2);
    const listing = (await (await fetch(`${server.url}/api/v1/subjects/mixed`)).json()) as { subjects: Array<{ subject_id: string }> };
    expect(listing.subjects.map((subject) => subject.subject_id)).toEqual(['alice', 'carol', 'dave']);
  }, 300_000);

  it('enrols from a CSV mapping', async () => {
    const csv = join(work, 'mapping.csv');
    writeFileSync(csv, 'file,subject_id\nlondon_004/1.jpg,"Smith, Jane"\n');
    const run = await cli(['enrol-dir', join(FIXTURES_DIR, 'faces'), '--csv', csv, '--partition', 'csv', '--url', server.url, '--checkpoint', join(work, 'csv.jsonl')], {});
    expect(run.code, run.stderr).toBe(0);
    const jane = await fetch(`${server.url}/api/v1/subjects/csv/${encodeURIComponent('Smith, Jane')}`);
    expect(jane.status).toBe(200);
  }, 120_000);
});

describe('export and import', () => {
  const probes = ['faces/london_001/2.jpg', 'faces/london_002/2.jpg', 'faces/George_W_Bush/3.jpg'];
  const source = () => join(work, 'source-data');
  const passphrase = 'correct horse battery staple';
  let before: string[];
  let exported: Buffer;

  beforeAll(async () => {
    const server = await start(source());
    try {
      const dir = join(work, 'people');
      mkdirSync(dir);
      for (const identity of ['london_001', 'london_002', 'london_003', 'George_W_Bush']) symlinkSync(join(FIXTURES_DIR, 'faces', identity), join(dir, identity), 'dir');
      const run = await cli(['enrol-dir', dir, '--partition', 'gate', '--url', server.url, '--checkpoint', join(work, 'people.jsonl')], {});
      expect(run.code, run.stderr).toBe(0);
      before = await Promise.all(probes.map((probe) => searchXml(server.url, probe, 'gate')));
    } finally {
      await server.close();
    }
  }, 300_000);

  it('is refused while a server holds the data directory', async () => {
    const server = await start(source());
    try {
      const run = await cli(['export', '--partition', 'gate'], { DATA_DIR: source(), FACESERVER_EXPORT_PASSPHRASE: passphrase });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/a server \(pid \d+\) is running on .*: stop it before exporting/);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('round-trips into a fresh data directory with the same search results', async () => {
    const run = await cli(['export', '--partition', 'gate'], { DATA_DIR: source(), FACESERVER_EXPORT_PASSPHRASE: passphrase });
    expect(run.code, run.stderr).toBe(0);
    exported = run.stdout;
    // sealed: no subject id in clear after the header
    expect(exported.subarray(exported.indexOf(0x0a)).includes(Buffer.from('london_001'))).toBe(false);
    const file = join(work, 'gate.export');
    writeFileSync(file, exported);
    const fresh = join(work, 'fresh-data');
    const imported = await cli(['import', file, '--checkpoint', join(work, 'import.jsonl')], { DATA_DIR: fresh, FACESERVER_EXPORT_PASSPHRASE: passphrase });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/imported \d+ into gate, refused 0, done before 0/);
    expect(imported.stderr).toContain('refusals: none');
    const again = await cli(['import', file, '--checkpoint', join(work, 'import.jsonl')], { DATA_DIR: fresh, FACESERVER_EXPORT_PASSPHRASE: passphrase });
    expect(again.stderr).toMatch(/imported 0 into gate, refused 0, done before \d+/);
    const server = await start(fresh);
    try {
      const after = await Promise.all(probes.map((probe) => searchXml(server.url, probe, 'gate')));
      expect(after).toEqual(before);
      expect(before[0]).toContain('<subject_id>london_001</subject_id>');
    } finally {
      await server.close();
    }
  }, 300_000);

  it('refuses a wrong passphrase and another model’s templates', async () => {
    const file = join(work, 'gate.export');
    const wrong = await cli(['import', file], { DATA_DIR: join(work, 'other-data'), FACESERVER_EXPORT_PASSPHRASE: 'not it' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong passphrase, or the file was altered');
    const headerEnd = exported.indexOf(0x0a);
    const header = JSON.parse(exported.subarray(0, headerEnd).toString('utf8')) as { model_id: string };
    const foreign = join(work, 'foreign.export');
    writeFileSync(foreign, Buffer.concat([Buffer.from(JSON.stringify({ ...header, model_id: 'arcface-r100' })), exported.subarray(headerEnd)]));
    const other = await cli(['import', foreign], { DATA_DIR: join(work, 'other-data'), FACESERVER_EXPORT_PASSPHRASE: passphrase });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('the export holds templates of arcface-r100');
    expect(other.stderr).toContain('nothing was imported');
  }, 120_000);
});

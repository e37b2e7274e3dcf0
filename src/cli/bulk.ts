// npm run -s cli -- enrol-dir <dir> --partition P [--csv mapping.csv]     (through a running server's API)
// npm run -s cli -- export --partition P > file                           (server stopped: opens DATA_DIR)
// npm run -s cli -- import <file> [--partition P]                         (server stopped: opens DATA_DIR)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Checkpoint, refusalSummary } from '../bulk/checkpoint.ts';
import { enrolDirectory, listByCsv, listByFolder } from '../bulk/directory-enrolment.ts';
import { assertSameModel, exportPartition, importRecords } from '../bulk/gallery-transfer.ts';
import { ProgressBar } from '../bulk/progress.ts';
import { openExport, readExportHeader, sealExport } from '../bulk/sealed-export.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { assertNoServerRunning } from '../gallery/data-dir-lock.ts';
import { openGallery } from '../gallery/index.ts';
import { loadModelManifest } from '../pipeline/model-manifest.ts';
import { loadTemplateCipher } from '../security/template-key.ts';
import { runCli, UsageError } from './run.ts';

const USAGE = `usage:
  npm run -s cli -- enrol-dir <dir> --partition P [--csv mapping.csv] [--url http://127.0.0.1:8080] [--concurrency 2] [--checkpoint FILE]
      subject id = the top-level folder of each image (dir/alice/1.jpg → alice), or the file name for images
      directly in <dir>; or a CSV with "file" (relative to <dir>) and "subject_id" columns.
      API key from FACESERVER_API_KEY (enrol scope). Re-running resumes from the checkpoint.
  npm run -s cli -- export --partition P [--passphrase-file F] > partition.export
  npm run -s cli -- import <file> [--partition P] [--passphrase-file F] [--checkpoint FILE]
      export and import open DATA_DIR directly and are refused while a server runs on it.
      The passphrase is read from --passphrase-file or FACESERVER_EXPORT_PASSPHRASE (never from the command line).`;

const stderrLogger = pino({ level: 'warn' }, pino.destination(2));
const bar = (label: string) => (total: number) => new ProgressBar(label, total);
const shortHash = (data: string | Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 12);

function passphrase(file: string | undefined): string {
  const value = file !== undefined ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : process.env.FACESERVER_EXPORT_PASSPHRASE;
  if (!value) throw new UsageError('no passphrase: give --passphrase-file, or set FACESERVER_EXPORT_PASSPHRASE');
  return value;
}

function printSummary(outcomes: Iterable<string>): void {
  const refusals = refusalSummary(outcomes);
  if (refusals.length === 0) process.stderr.write('refusals: none\n');
  else process.stderr.write(`refusals by code:\n${refusals.map(([code, count]) => `  ${code}: ${count}`).join('\n')}\n`);
}

async function enrolDir(config: Config, args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { partition: { type: 'string' }, csv: { type: 'string' }, url: { type: 'string' }, concurrency: { type: 'string' }, checkpoint: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('enrol-dir takes one folder');
  if (!values.partition) throw new UsageError('--partition is required');
  const dir = resolve(positionals[0]);
  const concurrency = Number(values.concurrency ?? 2);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new UsageError('--concurrency is an integer 1-16');
  const items = values.csv ? listByCsv(readFileSync(values.csv, 'utf8')) : listByFolder(dir);
  const checkpoint = new Checkpoint(values.checkpoint ?? `enrol-dir-${values.partition}-${shortHash(dir)}.checkpoint.jsonl`);
  process.stderr.write(`${items.length} images, checkpoint ${checkpoint.path} (${checkpoint.size} done before)\n`);
  const report = await enrolDirectory({
    dir,
    items,
    partition: values.partition,
    url: values.url ?? `http://127.0.0.1:${config.port}`,
    apiKey: process.env.FACESERVER_API_KEY,
    checkpoint,
    concurrency,
    progress: bar('enrol'),
  });
  process.stderr.write(`enrolled ${report.enrolled}, refused ${report.refused}, done before ${report.skipped}, failed (retried on the next run) ${report.failed.length}\n`);
  for (const { file, reason } of report.failed) process.stderr.write(`  failed ${file}: ${reason}\n`);
  printSummary(checkpoint.outcomes());
  if (report.failed.length > 0) process.exitCode = 1;
}

function openDataDir(config: Config, what: string) {
  // The server keeps indexes in memory and saves them over the files: a second writer would be lost.
  assertNoServerRunning(config.dataDir, what);
  // an import may be the first thing a new data directory sees: it gets its template key as a server's would
  mkdirSync(config.dataDir, { recursive: true });
  const cipher = loadTemplateCipher(config.encryption, config.dataDir, stderrLogger);
  return openGallery({ dataDir: config.dataDir, flushDelayMs: 0, logger: stderrLogger, cipher });
}

async function exportCommand(config: Config, args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { partition: { type: 'string' }, 'passphrase-file': { type: 'string' } } });
  if (positionals.length > 0) throw new UsageError('export writes to stdout: redirect it to a file');
  if (!values.partition) throw new UsageError('--partition is required');
  if (process.stdout.isTTY) throw new UsageError('stdout is a terminal: redirect the export to a file');
  const secret = passphrase(values['passphrase-file']);
  const modelId = loadModelManifest(config.modelsDir, config.pipeline.manifest).modelId;
  const gallery = await openDataDir(config, 'exporting');
  try {
    const records = await exportPartition(gallery, values.partition, bar('export'));
    process.stdout.write(sealExport(secret, { modelId, partition: values.partition }, records));
    process.stderr.write(`exported ${records.length} templates of partition ${values.partition} (${modelId})\n`);
  } finally {
    await gallery.close();
  }
}

async function importCommand(config: Config, args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { partition: { type: 'string' }, 'passphrase-file': { type: 'string' }, checkpoint: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('import takes one export file');
  const file = readFileSync(positionals[0]);
  const modelId = loadModelManifest(config.modelsDir, config.pipeline.manifest).modelId;
  // refused before the passphrase is even asked for: the header is in clear (and authenticated)
  const header = readExportHeader(file);
  assertSameModel(header.model_id, modelId);
  const { records } = openExport(passphrase(values['passphrase-file']), file);
  const partition = values.partition ?? header.partition;
  const checkpoint = new Checkpoint(values.checkpoint ?? `import-${partition}-${shortHash(file)}.checkpoint.jsonl`);
  process.stderr.write(`${records.length} templates, checkpoint ${checkpoint.path} (${checkpoint.size} done before)\n`);
  const gallery = await openDataDir(config, 'importing');
  try {
    const report = await importRecords({ gallery, modelId, header, records, partition, dimension: 512, checkpoint, progress: bar('import') });
    process.stderr.write(`imported ${report.imported} into ${partition}, refused ${report.refused}, done before ${report.skipped}\n`);
    printSummary(checkpoint.outcomes());
  } finally {
    await gallery.close();
  }
}

await runCli(USAGE, async (args) => {
  const [command, ...rest] = args;
  const config = loadConfig();
  if (command === 'enrol-dir') return enrolDir(config, rest);
  if (command === 'export') return exportCommand(config, rest);
  if (command === 'import') return importCommand(config, rest);
  throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
});

// Bulk tools on the fixture faces: `enrol-dir` over the 150 photos through a running server's API,
// then `export` of that partition and `import` into a fresh data directory, each timed as the CLI
// runs them (own process, as `npm run cli` does). Prints the CLI's own summary lines.
//   npm run bench:bulk
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, PROJECT_ROOT } from '../src/config/config.ts';
import { startServer } from '../src/server.ts';
import { FIXTURES_DIR } from '../test/helpers/fixtures.ts';
import { quietLogger } from '../test/helpers/quiet-logger.ts';
import { Checkpoint, refusalSummary } from '../src/bulk/checkpoint.ts';
import { round, writeResults } from './fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'bench-bulk-'));
const source = join(work, 'source');
const target = join(work, 'target');
const passphrase = 'benchmark passphrase';

/**
 * Runs the command in its own process (asynchronously: the server answering it lives in this one);
 * its progress and summary go to this terminal.
 */
function cliShowing(args: string[], env: Record<string, string>, output?: string): Promise<number> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(PROJECT_ROOT, 'src/cli/bulk.ts'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', output ? 'pipe' : 'ignore', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`cli ${args[0]} exited with ${code}`));
      if (output) writeFileSync(output, Buffer.concat(chunks));
      done((performance.now() - started) / 1000);
    });
  });
}

try {
  const server = await startServer(loadConfig({}, { port: 0, host: '127.0.0.1', dataDir: source }), quietLogger);
  let enrolSeconds: number;
  try {
    enrolSeconds = await cliShowing(['enrol-dir', join(FIXTURES_DIR, 'faces'), '--partition', 'fixtures', '--url', server.url, '--checkpoint', join(work, 'enrol.jsonl')], {});
  } finally {
    await server.close();
  }
  const file = join(work, 'fixtures.export');
  const exportSeconds = await cliShowing(['export', '--partition', 'fixtures'], { DATA_DIR: source, FACESERVER_EXPORT_PASSPHRASE: passphrase }, file);
  const importSeconds = await cliShowing(['import', file, '--checkpoint', join(work, 'import.jsonl')], { DATA_DIR: target, FACESERVER_EXPORT_PASSPHRASE: passphrase });
  const outcomes = [...new Checkpoint(join(work, 'enrol.jsonl')).outcomes()];
  const results = {
    photos: outcomes.length,
    enrolled: outcomes.filter((outcome) => outcome === 'ok').length,
    refusals: Object.fromEntries(refusalSummary(outcomes)),
    export_bytes: readFileSync(file).length,
    enrol_dir_seconds: round(enrolSeconds, 1),
    enrol_dir_photos_per_second: round(outcomes.length / enrolSeconds, 2),
    export_seconds: round(exportSeconds, 2),
    import_seconds: round(importSeconds, 2),
  };
  console.log(JSON.stringify(results, null, 2));
  writeResults('bulk', results);
} finally {
  rmSync(work, { recursive: true, force: true });
}

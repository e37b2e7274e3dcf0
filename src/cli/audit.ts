// npm run -s audit -- export [--from 2026-01-01] [--to 2026-12-31]   → JSON lines on stdout
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import { PostgresAuditLog } from '../audit/postgres-audit-log.ts';
import { loadConfig } from '../config/config.ts';
import { openPool } from '../postgres/pool.ts';
import { runCli, UsageError } from './run.ts';

const USAGE = `usage: npm run -s audit -- export [--from DATE|TIME] [--to DATE|TIME]
  dates are UTC; a date alone in --to includes that whole day
  reads DATA_DIR/audit.sqlite, or the log every API node shares in PostgreSQL when DATABASE_URL is set`;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO instant; `--to 2026-12-31` means up to the end of that day. */
function bound(value: string | undefined, fallback: string, endOfDay: boolean): string {
  if (value === undefined) return fallback;
  const time = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`not a date or time: ${value}`);
  if (endOfDay && DATE_ONLY.test(value)) time.setUTCDate(time.getUTCDate() + 1);
  return time.toISOString();
}

await runCli(USAGE, async (args) => {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' } } });
  if (positionals.length !== 1 || positionals[0] !== 'export') throw new UsageError('the only command is "export"');
  // year 1: PostgreSQL's timestamps have no year 0 (no row of either store is that old)
  const from = bound(values.from, '0001-01-01T00:00:00.000Z', false);
  const to = bound(values.to, '9999-12-31T23:59:59.999Z', true);
  if (from >= to) throw new UsageError(`--from ${values.from} is not before --to ${values.to}: the range holds no time`);
  const config = loadConfig();
  if (config.database) return exportFromPostgres(config.database.url, from, to);
  const path = join(config.dataDir, 'audit.sqlite');
  if (!existsSync(path)) throw new Error(`no audit log at ${path}`);
  const log = new AuditLog(path);
  try {
    for (const event of log.between(from, to)) process.stdout.write(`${JSON.stringify(event)}\n`);
  } finally {
    log.close();
  }
});

async function exportFromPostgres(url: string, from: string, to: string): Promise<void> {
  const pool = openPool(url, 1, pino({ level: 'warn' }, pino.destination(2)), 'audit export');
  try {
    const log = await PostgresAuditLog.open(pool);
    for await (const event of log.between(from, to)) process.stdout.write(`${JSON.stringify(event)}\n`);
  } finally {
    await pool.end();
  }
}

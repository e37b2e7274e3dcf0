// npm run -s keys -- create --name NAME --scopes enrol,search --partitions default,vip
// npm run -s keys -- list | revoke <id> | rotate-template-key
import { renameSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { assertNoServerRunning } from '../gallery/data-dir-lock.ts';
import { rotateTemplateKey } from '../gallery/index.ts';
import { pino } from 'pino';
import { AuthService, isAuthRequired, type Operation } from '../security/auth.service.ts';
import { TemplateCipher } from '../security/template-cipher.ts';
import { loadTemplateCipher, templateKeySource, writeKeyFile } from '../security/template-key.ts';
import { openApiKeyStore } from '../node-state.ts';
import { runCli, UsageError } from './run.ts';

// stdout carries keys only; log lines (warnings of the rebuild after a rotation) go to stderr.
const stderrLogger = pino({ level: 'warn' }, pino.destination(2));

const USAGE = `usage:
  npm run -s keys -- create --name NAME --scopes enrol,search,verify,delete,check,documents,claim_enrol,claim_verify,admin --partitions default,vip|'*'
  npm run -s keys -- list
  npm run -s keys -- revoke <key id>
  npm run -s keys -- rotate-template-key      (refused while a server runs on the data directory)
  (-s keeps npm's own banner out of the output, so the key is the only line on stdout)
  keys live in DATA_DIR/keys.sqlite, or in PostgreSQL for every API node when DATABASE_URL is set`;

const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);

await runCli(USAGE, async (args) => {
  const config = loadConfig();
  const [command, ...rest] = args;
  if (command === 'rotate-template-key') return rotate(config);
  // keys.sqlite in DATA_DIR, or the shared table in PostgreSQL when DATABASE_URL is set
  const store = await openApiKeyStore(config, stderrLogger);
  try {
    const auth = new AuthService(store.keys, isAuthRequired(config.auth.required, config.host));
    if (command === 'create') {
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, scopes: { type: 'string' }, partitions: { type: 'string' } } });
      if (values.name === undefined) throw new UsageError('--name is required');
      // A key for every partition is a decision, not a default: it must be asked for with --partitions '*'.
      if (values.partitions === undefined) throw new UsageError("--partitions is required: a list such as default,vip, or '*' for every partition");
      let created;
      try {
        created = await auth.createKey({ name: values.name, operations: list(values.scopes) as Operation[], partitions: list(values.partitions) });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const { summary } = created;
      process.stderr.write(`created ${summary.id} "${summary.name}": scopes ${summary.operations.join(',')}, partitions ${summary.partitions.join(',')}\n`);
      process.stderr.write('the key follows; it is shown this once and stored only as a hash:\n');
      process.stdout.write(`${created.key}\n`);
    } else if (command === 'list') {
      for (const key of await auth.listKeys()) process.stdout.write(`${JSON.stringify(key)}\n`);
    } else if (command === 'revoke') {
      if (rest.length !== 1) throw new UsageError('revoke takes one key id');
      await auth.revokeKey(rest[0]);
      process.stderr.write(`revoked ${rest[0]}\n`);
    } else {
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    }
  } finally {
    await store.close();
  }
});

/**
 * The new key is written beside the old one before the database changes, and moved over it after:
 * if this is interrupted, one of the two files opens the gallery (the server names the key id it needs).
 */
async function rotate(config: ReturnType<typeof loadConfig>): Promise<void> {
  // A running server keeps the old key in memory and could not enrol under the new one.
  assertNoServerRunning(config.dataDir, 'rotating the template key');
  const current = loadTemplateCipher(config.encryption, config.dataDir, stderrLogger);
  const next = TemplateCipher.generate();
  const source = templateKeySource(config.encryption, config.dataDir);
  if (source.kind === 'env') {
    process.stderr.write('TEMPLATE_KEY is set: put this new key in it before the next start (the old one stops working now):\n');
    process.stdout.write(`${next.exportKey()}\n`);
  } else {
    writeKeyFile(`${source.path}.next`, next, 'w');
  }
  const templates = await rotateTemplateKey({ dataDir: config.dataDir, current, next, logger: stderrLogger, search: config.search });
  if (source.kind === 'file') renameSync(`${source.path}.next`, source.path);
  process.stderr.write(`re-encrypted ${templates} templates and the saved indexes under key ${next.keyId} (was ${current.keyId})\n`);
}

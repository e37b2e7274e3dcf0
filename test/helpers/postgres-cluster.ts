// PostgreSQL clusters of the tests' own: a primary and hot standbys on loopback ports, in temporary
// directories, started and stopped here and never touching a system cluster. PostgreSQL refuses to run as
// root, so when the tests run as root (as CI does) the servers run as the `postgres` user Debian's package
// creates. Installed by `scripts/setup.mjs --with-postgres` (PostgreSQL 15, pgvector built from source).
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'faceserver';

export const postgresInstalled = () => existsSync(join(PG_BIN, 'postgres')) && existsSync('/usr/share/postgresql/15/extension/vector.control');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL program as the owner of the cluster's files. */
function pg(program: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, program), ...args]] : [join(PG_BIN, program), args];
  return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ownedDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const postgres = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const group = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(directory, Number(postgres), Number(group));
  }
  return directory;
}

export class PostgresServer {
  private running = true;

  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  /** A connection string for `database` as the clusters' superuser. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs `work` with a client connected to `database` as the superuser, and closes it. */
  async withClient<T>(work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** Creates the database `name` (a plain identifier) and returns its connection string. */
  async createDatabase(name: string): Promise<string> {
    await this.withClient((client) => client.query(`CREATE DATABASE ${name}`));
    return this.url(name);
  }

  /** The postmaster's process id, from its pid file. */
  get pid(): number {
    return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  start(): void {
    const log = join(this.dataDir, 'server.log');
    try {
      pg('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', log]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
    }
    this.running = true;
  }

  /** A fast shutdown: sessions are ended, committed work is on disk. */
  stop(): void {
    if (!this.running) return;
    pg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.dataDir]);
    this.running = false;
  }

  /** SIGKILL to the postmaster and its backends, as a power cut would stop them. */
  kill(): void {
    const postmaster = this.pid;
    // stopped first, so it forks no backend between the listing and the kill
    process.kill(postmaster, 'SIGSTOP');
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    const processes = [...children, postmaster];
    for (const pid of processes) signal(pid, 'SIGKILL');
    // the next start must not find a process of this cluster still alive
    const deadline = Date.now() + 10_000;
    while (processes.some(alive) && Date.now() < deadline) execFileSync('sleep', ['0.05']);
    this.running = false;
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      this.kill();
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function configure(dataDir: string, port: number): void {
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dataDir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      // the tests' data is small; keep the clusters light on a 2-core machine
      'shared_buffers = 32MB',
      'max_connections = 40',
      '',
    ].join('\n'),
  );
}

/** A new primary cluster, started, with the `vector` extension available. */
export async function startPrimary(): Promise<PostgresServer> {
  const dataDir = ownedDirectory('faceserver-pg-primary-');
  const port = await freePort();
  pg('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  configure(dataDir, port);
  appendFileSync(join(dataDir, 'pg_hba.conf'), `host replication ${SUPERUSER} 127.0.0.1/32 trust\n`);
  const server = new PostgresServer(dataDir, port);
  server.start();
  return server;
}

/** A hot standby streaming from `primary`, started. */
export async function startStandby(primary: PostgresServer): Promise<PostgresServer> {
  const dataDir = ownedDirectory('faceserver-pg-standby-');
  const port = await freePort();
  // -R writes standby.signal and primary_conninfo; the copied postgresql.conf is the primary's
  pg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', SUPERUSER, '-D', dataDir, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync']);
  appendFileSync(join(dataDir, 'postgresql.conf'), `port = ${port}\nunix_socket_directories = '${dataDir}'\n`);
  const server = new PostgresServer(dataDir, port);
  server.start();
  return server;
}

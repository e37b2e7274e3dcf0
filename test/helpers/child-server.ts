import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';

/** The real `src/main.ts` in its own process, so it can be killed the way a machine kills it. */
export interface ChildServer {
  url: string;
  pid: number;
  /** everything the process printed, for failure messages */
  output(): string;
  /** SIGKILL: no shutdown code runs */
  kill(): Promise<void>;
  /** SIGTERM: the documented graceful shutdown; rejects unless the process exits 0 */
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  dataDir: string;
  /** written to a config file the server reads through CONFIG_FILE */
  config?: Record<string, unknown>;
  /** added to the server's environment */
  env?: Record<string, string>;
}

/** A scratch directory holding `data/` (the server's DATA_DIR) and nothing else of the project. */
export function scratchDataDir(): { dataDir: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'faceserver-child-'));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  return { dataDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * The environment `npm start` gives the server: the NAME=value words in front of the command that
 * package.json's start script runs last (the allocator preload), so tests and benchmarks run what
 * production runs.
 */
export function startScriptEnv(): Record<string, string> {
  const start = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const env: Record<string, string> = {};
  for (const word of start.split('&&').at(-1)!.trim().split(/\s+/)) {
    const assignment = /^([A-Za-z_]\w*)=(\S*)$/.exec(word);
    if (!assignment) break;
    env[assignment[1]] = assignment[2];
  }
  return env;
}

/** Starts the server on a free loopback port and resolves once its "listening" log line names the URL. */
export async function startChildServer({ dataDir, config = {}, env = {} }: ChildServerOptions): Promise<ChildServer> {
  const configFile = join(dataDir, '..', 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...startScriptEnv(), CONFIG_FILE: configFile, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (entry?.msg === 'listening' && typeof entry.url === 'string') resolve(entry.url);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk));
    void exited.then((code) => reject(new Error(`server exited with code ${code} before listening:\n${log}`)));
  });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  return {
    url,
    pid: child.pid!,
    output: () => log,
    kill: async () => {
      await signal('SIGKILL');
    },
    stop: async () => {
      const code = await signal('SIGTERM');
      if (code !== 0) throw new Error(`server exited with code ${code} on SIGTERM:\n${log.slice(-4000)}`);
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The child servers of one test file or benchmark, each on a scratch data directory of its own. */
export class ChildServerGroup {
  private readonly servers: ChildServer[] = [];
  private readonly scratches: Array<ReturnType<typeof scratchDataDir>> = [];

  /** A scratch DATA_DIR (for a server, or a CLI run as an operator would on a machine of its own). */
  dataDir(): string {
    const scratch = scratchDataDir();
    this.scratches.push(scratch);
    return scratch.dataDir;
  }

  /** every scratch DATA_DIR handed out so far */
  dataDirs(): string[] {
    return this.scratches.map((scratch) => scratch.dataDir);
  }

  async start(options: Omit<ChildServerOptions, 'dataDir'> = {}): Promise<ChildServer> {
    const server = await startChildServer({ dataDir: this.dataDir(), ...options });
    this.servers.push(server);
    return server;
  }

  /** Stops every server (killing one that will not stop) and removes every scratch directory. */
  async stopAll(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop().catch(() => server.kill())));
    for (const scratch of this.scratches) scratch.remove();
  }
}

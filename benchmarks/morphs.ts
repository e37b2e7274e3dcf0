// `npm run morphs`: generates the morphing-attack training and test set from the fixture faces into
// benchmarks/data/morphs/ (outside git), with ground-truth.json describing every image.
// Split by identity with a fixed seed: morphs and bona fide photos of a test identity never reach training.
// Morphs are made from the London set's neutral studio portraits (faces/london_NNN/1.jpg; 2.jpg, the same
// person smiling, is the "live capture" differential MAD compares against). Spliced morphs with digital and
// print-scan post-processing are the training variants; whole-image morphs are kept out of training.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { FACE_OVAL } from '../src/pipeline/models/face-mesh.ts';
import { landmarkedPhoto } from '../tools/morph/landmarked.ts';
import { morph, type MorphVariant } from '../tools/morph/morph.ts';
import { postProcess, type PostProcess } from '../tools/morph/post-process.ts';
import { seededRandom } from '../tools/seeded-random.ts';
import { fixtureImages, identityOf, MODELS_DIR, PROJECT_ROOT } from './fixtures.ts';
import { MORPHS_DIR, type SetImage, type Split } from './morph-set.ts';

const SEED = 20059;
/** share of each identity group held out for testing */
const TEST_SHARE = 0.4;
const TRAIN_PAIRS = 110;
const TEST_PAIRS = 80;

const random = seededRandom(SEED);
const shuffle = <T>(items: T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

const faces = fixtureImages('faces');
const group = (id: string) => (id.startsWith('london_') ? 'london' : id.startsWith('bbt_') ? 'bbt' : 'lfw');
const identities = [...new Set(faces.map((f) => identityOf(f.name)))];
const splitOf = new Map<string, Split>();
for (const name of ['london', 'lfw', 'bbt']) {
  const shuffled = shuffle(identities.filter((id) => group(id) === name));
  const testCount = Math.round(shuffled.length * TEST_SHARE);
  shuffled.forEach((id, i) => splitOf.set(id, i < testCount ? 'test' : 'train'));
}

rmSync(MORPHS_DIR, { recursive: true, force: true });
mkdirSync(MORPHS_DIR, { recursive: true });
const images: SetImage[] = [];
const save = (name: string, bytes: Buffer) => {
  writeFileSync(join(MORPHS_DIR, name), bytes);
  return name;
};

for (const face of faces) {
  const identity = identityOf(face.name);
  const split = splitOf.get(identity)!;
  images.push({ file: face.name, label: 'bona_fide', split, post: 'none', identities: [identity], sources: [face.name] });
  const { data, info } = await sharp(face.bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data), width: info.width, height: info.height };
  for (const post of ['digital', 'print_scan'] as const) {
    const file = save(`bona-fide-${face.name.replaceAll('/', '-').replace(/\.\w+$/, '')}-${post}.jpg`, await postProcess(image, post, random));
    images.push({ file, label: 'bona_fide', split, post, identities: [identity], sources: [face.name] });
  }
}

const pipeline = await FacePipeline.create(MODELS_DIR, pipelineConfigSchema.parse({}));
const neutral = faces.filter((f) => group(identityOf(f.name)) === 'london' && f.name.endsWith('/1.jpg'));
const photos = new Map(await Promise.all(neutral.map(async (f) => [f.name, await landmarkedPhoto(pipeline, f.bytes, f.name)] as const)));

for (const [split, count] of [['train', TRAIN_PAIRS], ['test', TEST_PAIRS]] as const) {
  const contributors = neutral.filter((f) => splitOf.get(identityOf(f.name)) === split);
  const pairs = contributors.flatMap((a, i) => contributors.slice(i + 1).map((b) => [a, b] as const));
  // training sees spliced morphs only; the test set adds whole-image morphs as the unseen generator variant
  const variants: [MorphVariant, PostProcess][] = split === 'train' ? [['spliced', 'digital'], ['spliced', 'print_scan']] : [['spliced', 'digital'], ['spliced', 'print_scan'], ['whole', 'digital']];
  for (const [a, b] of shuffle(pairs).slice(0, count)) {
    const alpha = 0.3 + 0.4 * random();
    for (const [variant, post] of variants) {
      const morphed = morph(photos.get(a.name)!, photos.get(b.name)!, { alpha, variant, oval: FACE_OVAL });
      const name = `morph-${identityOf(a.name)}-${identityOf(b.name)}-${variant}-${post}.jpg`;
      const file = save(name, await postProcess(morphed, post, random));
      images.push({ file, label: 'morph', split, post, variant, alpha: Number(alpha.toFixed(3)), identities: [identityOf(a.name), identityOf(b.name)], sources: [a.name, b.name] });
    }
  }
  console.log(`${split}: ${contributors.length} contributor identities, ${Math.min(count, pairs.length)} pairs`);
}

writeFileSync(join(MORPHS_DIR, 'ground-truth.json'), `${JSON.stringify({ seed: SEED, splits: Object.fromEntries(splitOf), images }, null, 1)}\n`);
console.log(`wrote ${images.length} entries to ${relative(PROJECT_ROOT, MORPHS_DIR)}/ground-truth.json`);

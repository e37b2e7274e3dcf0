// Writes the synthetic document photos the cropper is evaluated on, for looking at: one JPEG per card
// and condition plus truth.json with each photo's true corners. Deterministic (seeded); nothing here is
// committed (the default folder, tmp/, is ignored).
//   npm run gen:documents [-- --out tmp/document-scenes --seeds 1 --width 1600 --height 1200]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { evalSeed, idCardFixtures, SCENE_CONDITIONS, synthesizeScene } from '../test/helpers/document-scenes.ts';
import { PROJECT_ROOT } from './fixtures.ts';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'tmp/document-scenes' }, seeds: { type: 'string', default: '1' }, width: { type: 'string', default: '1600' }, height: { type: 'string', default: '1200' } },
});
const out = resolve(PROJECT_ROOT, values.out!);
mkdirSync(out, { recursive: true });
const truth: Record<string, unknown> = {};
const cards = idCardFixtures();
for (const condition of SCENE_CONDITIONS) {
  for (const [c, card] of cards.entries()) {
    for (let s = 0; s < Number(values.seeds); s++) {
      // the same seeds as npm run eval:cropper
      const scene = await synthesizeScene(card, condition, evalSeed(c, condition, s), { width: Number(values.width), height: Number(values.height) });
      writeFileSync(join(out, `${scene.name}.jpg`), scene.image);
      truth[`${scene.name}.jpg`] = { card: card.file, condition, has_portrait: card.hasPortrait, corners: scene.corners };
    }
  }
}
writeFileSync(join(out, 'truth.json'), `${JSON.stringify(truth, null, 1)}\n`);
console.log(`wrote ${Object.keys(truth).length} photos and truth.json to ${out}`);

import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { DocumentCropper } from '../../src/documents/document-cropper.ts';
import { ApiError } from '../../src/errors.ts';
import { MODELS_DIR } from '../../benchmarks/fixtures.ts';
import { evalSeed, idCardFixtures, synthesizeScene, type SceneCondition } from '../helpers/document-scenes.ts';
import { fixture, FIXTURES_DIR } from '../helpers/fixtures.ts';
import { smartDocJaccard } from '../helpers/smartdoc-jaccard.ts';

// The cropper as its worker runs it (OpenCV, the bundle's face and text detectors) on photos made from
// the idcards fixtures with their true corners, the same photos `npm run eval:cropper` scores: each
// case names the eval's photo it reproduces.

let cropper: DocumentCropper;

beforeAll(async () => {
  const config = loadConfig({});
  cropper = await DocumentCropper.create(MODELS_DIR, config.pipeline, { ...config.documents, maxImagePixels: config.pipeline.maxImagePixels });
});

/** the eval's photo of `file` under `condition`, its `copy`-th seed (as benchmarks/cropper-eval.ts numbers them) */
function evalScene(file: string, condition: SceneCondition, copy = 0) {
  const cards = idCardFixtures();
  const index = cards.findIndex((c) => c.file === file);
  return synthesizeScene(cards[index], condition, evalSeed(index, condition, copy));
}

describe('DocumentCropper', () => {
  it('returns the portrait of a data page, upright, and its detector score', async () => {
    const result = await cropper.crop((await evalScene('100_pass-hrv.jpg', 'any_rotation')).image);
    expect(result.portrait).toBeInstanceOf(Buffer);
    expect(result.portraitScore).toBeGreaterThanOrEqual(0.75);
  });

  it('returns no portrait for the card backs on a plain desk', async () => {
    for (const file of ['100_id-usa.jpg', '77_card-cmw.png', '0_id-esp.png', '100_id-che.jpg']) {
      const result = await cropper.crop((await evalScene(file, 'plain_desk')).image);
      expect(result.portrait, file).toBeUndefined();
    }
  });

  it('finds a portrait blur has softened past the face detector with the portrait detector, and none on blurred card backs', async () => {
    // id-usa-blur-16201: BlazeFace's best face on it scores 0.46; UltraFace finds it (0.82)
    const blurred = await cropper.crop((await evalScene('33_id-usa.jpg', 'blur', 1)).image);
    expect(blurred.portrait).toBeInstanceOf(Buffer);
    // id-che-blur-5101 and -15101: BlazeFace imagined faces in this card back's print when it looked in tiles
    for (const copy of [0, 1]) expect((await cropper.crop((await evalScene('100_id-che.jpg', 'blur', copy)).image)).portrait).toBeUndefined();
  });

  it('finds a portrait glare hides from the whole page by looking where ICAO 9303 prints it, and none there on card backs in glare', async () => {
    // pass-twn-glare-17301: a glare spot over one eye; BlazeFace scores the face 0.34 on the whole page, 0.89 in the portrait zone
    const glared = await cropper.crop((await evalScene('43_pass-twn.jpg', 'glare', 1)).image);
    expect(glared.portrait).toBeInstanceOf(Buffer);
    expect(glared.portraitScore).toBeGreaterThanOrEqual(0.75);
    for (const file of ['100_id-usa.jpg', '77_card-cmw.png', '0_id-esp.png', '100_id-che.jpg']) {
      for (const copy of [0, 1]) expect((await cropper.crop((await evalScene(file, 'glare', copy)).image)).portrait, `${file} ${copy}`).toBeUndefined();
    }
  });

  it('finds with the full-range detector a portrait glare hides from BlazeFace in the zone too', async () => {
    // pass-aus-glare-7401: a phone screenshot of a passport with a glare spot over the portrait's eye and
    // no zone read; BlazeFace scores the face at most 0.61 anywhere, the full-range model 0.67 in the zone
    const glared = await cropper.crop((await evalScene('62_pass-aus.png', 'glare')).image);
    expect(glared.portrait).toBeInstanceOf(Buffer);
    expect(glared.portraitScore).toBeGreaterThanOrEqual(0.5);
    expect(glared.portraitScore).toBeLessThan(0.75);
  });

  it('finds documents tilted so far that two opposite sides converge by up to 55°, and takes no gable for one', async () => {
    // id-usa-strong_perspective-4201 (a two-card strip, its portrait with it) and -3301: both were wrong outlines (Jaccard 0.72 and 0.14)
    for (const file of ['33_id-usa.jpg', '100_id-usa.jpg']) {
      const scene = await evalScene(file, 'strong_perspective');
      const result = await cropper.crop(scene.image);
      expect(smartDocJaccard(scene.corners, result.corners, 1000, 700), file).toBeGreaterThan(0.9);
      if (file === '33_id-usa.jpg') expect(result.portrait).toBeInstanceOf(Buffer);
    }
    // a house whose gable and wall make a converging quad seen in patches
    await expect(cropper.crop(fixture('nonfaces/01.jpg'))).rejects.toMatchObject({ code: 'document_not_found' });
  });

  it('finds a side too faint and too often crossed to make a straight segment from the sides either side of it', async () => {
    // id-rou-strong_perspective-3201: the card's top edge, pale on snow under branches, was never found; the
    // outline closed on the machine-readable zone instead (Jaccard 0.32)
    const scene = await evalScene('100_id-rou.jpg', 'strong_perspective');
    const result = await cropper.crop(scene.image);
    expect(smartDocJaccard(scene.corners, result.corners, 1000, 700)).toBeGreaterThan(0.9);
    expect(result.portrait).toBeInstanceOf(Buffer);
  });

  it('refuses a truncated photo as not an image, whichever of its two decodes fails first', async () => {
    const { image } = await evalScene('100_pass-hrv.jpg', 'plain_desk');
    await expect(cropper.crop(image.subarray(0, image.length >> 1))).rejects.toMatchObject({ code: 'unsupported_media_type' });
  });

  it('turns a card back without a face upright by its machine-readable zone, though its barcode is the busier print', async () => {
    // card-cmw-plain_desk-1501 and -11501 were returned upside down while print density decided
    for (const copy of [0, 1]) {
      const scene = await evalScene('77_card-cmw.png', 'plain_desk', copy);
      const { corners } = await cropper.crop(scene.image);
      const distances = scene.corners.map(([x, y]) => Math.hypot(x - corners[0][0], y - corners[0][1]));
      expect(distances.indexOf(Math.min(...distances)), `copy ${copy}`).toBe(0);
    }
  });

  it('places a document whose outline is lost in the background from its print, with a lower confidence', async () => {
    // pass-cze2-photo_background-11501: no outline is found; the document was refused before the text fallback
    const scene = await evalScene('100_pass-cze2.jpg', 'photo_background', 1);
    const result = await cropper.crop(scene.image);
    expect(result.placedBy).toBe('text');
    expect(result.confidence).toBeLessThan(0.5);
    expect(smartDocJaccard(scene.corners, result.corners, 1000, 700)).toBeGreaterThan(0.85);
  });

  it('finds no document in the print-free photos of nonfaces/, a house front shaped like one included', async () => {
    const photos = readdirSync(resolve(FIXTURES_DIR, 'nonfaces')).filter((f) => /\.jpe?g$/i.test(f));
    expect(photos).toContain('06.jpg');
    const cropped: string[] = [];
    for (const photo of photos) {
      try {
        await cropper.crop(fixture(`nonfaces/${photo}`));
        cropped.push(photo);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
    expect(cropped).toEqual([]);
    // 06.jpg: an outline is found, but no face, machine-readable zone or line of print inside it
    await expect(cropper.crop(fixture('nonfaces/06.jpg'))).rejects.toMatchObject({ code: 'document_not_found' });
  });

  it('tells ID-2 from ID-3 by the machine-readable zone: TD2 lines of 36 characters, TD3 lines of 44', async () => {
    expect((await cropper.crop((await evalScene('passport-td2.jpg', 'plain_desk')).image)).documentType).toBe('ID-2');
    expect((await cropper.crop((await evalScene('100_pass-hrv.jpg', 'plain_desk')).image)).documentType).toBe('ID-3');
  });

  it('takes the format from the zone where the shape of the outline misleads', async () => {
    // a TD1 card back scanned with a caption below it has ID-3's shape; passport pages seen at an angle took ID-1's
    expect((await cropper.crop((await evalScene('0_id-esp.png', 'plain_desk')).image)).documentType).toBe('ID-1');
    expect((await cropper.crop((await evalScene('100_pass-ltu.jpg', 'strong_perspective')).image)).documentType).toBe('ID-3');
    expect((await cropper.crop((await evalScene('25_pass-uto.jpg', 'any_rotation')).image)).documentType).toBe('ID-3');
  });
});

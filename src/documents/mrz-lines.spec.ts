import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/fixtures.ts';
import type { RgbImage } from '../pipeline/types.ts';
import { formatOfZone, mrzLines, mrzTop, uprightByMrz } from './mrz-lines.ts';
import { loadOpenCv } from './opencv.ts';

// The idcards fixtures are flat scans of data pages, so each is a straightened document as the cropper
// hands it over. Three carry a TD2 zone (2 × 36): the ICAO TD2 specimen page, the ICAO "typical TD2
// layout" figure and the Romanian card; the passports and the US visa carry TD3 zones (2 × 44).

async function scan(file: string, turn: 0 | 180 = 0): Promise<RgbImage> {
  const { data, info } = await sharp(fixture(`idcards/${file}`)).removeAlpha().rotate(turn).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

describe('mrzLines', () => {
  it.each(['passport-td2.jpg', '100_pass2-uto.jpg', '100_id-rou.jpg'])('counts 36 characters on the TD2 lines of %s: ID-2', async (file) => {
    const lines = mrzLines(await loadOpenCv(), await scan(file));
    expect(lines.filter((l) => Math.abs(l.characters - 36) <= 1).length).toBeGreaterThanOrEqual(2);
    expect(formatOfZone(lines)).toBe('ID-2');
  });

  it.each(['100_pass-cze2.jpg', '100_pass-hrv.jpg', '100_pass-ltu.jpg', '100_pass-polx.jpg', '100_visa-usa.jpg', '43_pass-twn.jpg', '100_pass-chn.jpg'])('counts about 44 on the TD3 lines of %s: ID-3', async (file) => {
    const lines = mrzLines(await loadOpenCv(), await scan(file));
    expect(lines.filter((l) => Math.abs(l.characters - 44) <= 2).length).toBeGreaterThanOrEqual(2);
    expect(formatOfZone(lines)).toBe('ID-3');
  });

  it.each(['0_id-esp.png', '100_id-che.jpg', '77_card-cmw.png'])('counts 30 on the TD1 lines of the card back %s: ID-1', async (file) => {
    const lines = mrzLines(await loadOpenCv(), await scan(file));
    expect(lines.filter((l) => Math.abs(l.characters - 30) <= 1).length).toBeGreaterThanOrEqual(2);
    expect(formatOfZone(lines)).toBe('ID-1');
  });

  it('reads the zone of a document the wrong way up alike', async () => {
    const lines = mrzLines(await loadOpenCv(), await scan('passport-td2.jpg', 180));
    expect(formatOfZone(lines)).toBe('ID-2');
  });

  it('says nothing without clear evidence: no zone, one line, lines of two counts, or of no format', () => {
    const line = (characters: number, centre: number) => ({ characters, periodicity: 0.6, centre });
    expect(formatOfZone([])).toBeUndefined();
    expect(formatOfZone([line(36, 0.9)])).toBeUndefined();
    expect(formatOfZone([line(36, 0.8), line(36, 0.85), line(44, 0.9)])).toBeUndefined();
    expect(formatOfZone([line(49, 0.8), line(47, 0.9)])).toBeUndefined();
  });
});

describe('uprightByMrz', () => {
  it.each(['77_card-cmw.png', '0_id-esp.png', '100_pass-hrv.jpg'])('finds the zone at the bottom of %s, and at the top when it is upside down', async (file) => {
    // 77_card-cmw.png: its barcode makes the top the busier half, so print density alone turned it over
    const cv = await loadOpenCv();
    expect(uprightByMrz(mrzLines(cv, await scan(file)))).toBe(0);
    expect(uprightByMrz(mrzLines(cv, await scan(file, 180)))).toBe(180);
  });

  it('says nothing without a zone of two lines', () => {
    expect(uprightByMrz([])).toBeUndefined();
    expect(uprightByMrz([{ characters: 44, periodicity: 0.6, centre: 0.1 }])).toBeUndefined();
  });
});

describe('mrzTop', () => {
  it('is where the first zone line is on the page turned upright, the same whichever way up it was read', async () => {
    const cv = await loadOpenCv();
    const upright = mrzTop(mrzLines(cv, await scan('100_pass-hrv.jpg')), 0);
    // the TD3 zone is the bottom 23 mm of an 88 mm page: its first line's centre ~80 % of the way down
    expect(upright).toBeGreaterThan(0.7);
    expect(upright).toBeLessThan(0.9);
    expect(mrzTop(mrzLines(cv, await scan('100_pass-hrv.jpg', 180)), 180)).toBeCloseTo(upright, 2);
  });

  it('is the bottom edge without a zone of two lines in the bottom half', () => {
    const line = (centre: number) => ({ characters: 44, periodicity: 0.6, centre });
    expect(mrzTop([], 0)).toBe(1);
    expect(mrzTop([line(0.9)], 0)).toBe(1);
    expect(mrzTop([line(0.1), line(0.17)], 0)).toBe(1);
    expect(mrzTop([line(0.1), line(0.17)], 180)).toBeCloseTo(0.83);
  });

  it('leaves out monospaced print above the zone', () => {
    const line = (centre: number) => ({ characters: 44, periodicity: 0.6, centre });
    expect(mrzTop([line(0.56), line(0.81), line(0.88)], 0)).toBe(0.81);
    // 100_pass-polx.jpg: two monospaced lines near its top, its zone nearer the bottom edge
    expect(mrzTop([line(0.2), line(0.28), line(0.77), line(0.83)], 0)).toBe(0.77);
    // a three-line zone with its middle line unread
    expect(mrzTop([line(0.66), line(0.8)], 0)).toBe(0.66);
  });
});

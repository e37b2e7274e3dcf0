import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SPECS_FILE,
  DOCUMENT_TYPES,
  icaoHeadBand,
  loadSpecTable,
  mmToPx,
  NON_COUNTRY_CODES,
  SPECS_SCHEMA_FILE,
  specsJsonSchema,
  type PhotoSpec,
} from './spec-table.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

const shipped = JSON.parse(readFileSync(DEFAULT_SPECS_FILE, 'utf8')) as { $schema: string; specs: PhotoSpec[] };
const dir = mkdtempSync(join(tmpdir(), 'photo-specs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A table file holding the shipped specs with one entry replaced (or added), for the refusal tests. */
function tableWith(change: (specs: Record<string, unknown>[]) => void): string {
  const specs = structuredClone(shipped.specs) as unknown as Record<string, unknown>[];
  change(specs);
  const path = join(dir, `t${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ specs }));
  return path;
}
const indexOf = (code: string) => shipped.specs.findIndex((s) => s.code === code);
const patch = (code: string, fields: Record<string, unknown>) => tableWith((specs) => Object.assign(specs[indexOf(code)], fields));

describe('photo spec table', () => {
  const table = loadSpecTable();

  it('the shipped anchors carry the figures of the official rules exactly', () => {
    const figures = (code: string) => {
      const { widthMm, heightMm, headHeightMm, eyeLineFromBottomMm, digital } = table.get(code)!;
      return { widthMm, heightMm, headHeightMm, eyeLineFromBottomMm, digital };
    };
    // 2 x 2 in; head 1 - 1 3/8 in; eyes 1 1/8 - 1 3/8 in from the bottom; digital 600-1200 px square, at most 240 KB
    expect(figures('us-passport')).toEqual({
      widthMm: 50.8,
      heightMm: 50.8,
      headHeightMm: { min: 25.4, max: 34.9 },
      eyeLineFromBottomMm: { min: 28.6, max: 34.9 },
      digital: { widthPx: { min: 600, max: 1200 }, heightPx: { min: 600, max: 1200 }, fileSizeKb: { max: 240 }, format: 'jpeg', tiedToPrint: true },
    });
    expect(figures('gb-passport')).toMatchObject({ widthMm: 35, heightMm: 45, headHeightMm: { min: 29, max: 34 } });
    for (const code of ['schengen-visa', 'de-passport', 'au-passport']) expect(figures(code)).toMatchObject({ widthMm: 35, heightMm: 45, headHeightMm: { min: 32, max: 36 } });
    expect(figures('nl-passport')).toMatchObject({ widthMm: 35, heightMm: 45, headHeightMm: { min: 26, max: 30 } });
    expect(figures('ca-passport')).toMatchObject({ widthMm: 50, heightMm: 70, headHeightMm: { min: 31, max: 36 } });
    expect(figures('cn-passport')).toMatchObject({
      widthMm: 33,
      heightMm: 48,
      headHeightMm: { min: 28, max: 33 },
      digital: { widthPx: { min: 354, max: 354 }, heightPx: { min: 472, max: 472 }, fileSizeKb: { min: 40, max: 120 } },
    });
    // ICAO: head 70-80 % of the frame height
    const icao = table.get('icao')!;
    expect(icao).toMatchObject({ widthMm: 35, heightMm: 45, headHeightMm: { min: 31.5, max: 36 } });
    expect(icao.headHeightMm.min / icao.heightMm).toBeCloseTo(0.7, 10);
    expect(icao.headHeightMm.max / icao.heightMm).toBeCloseTo(0.8, 10);
  });

  it('covers at least 100 documents across at least 60 countries, every kind of document among them', () => {
    const specs = table.list();
    expect(specs.length).toBeGreaterThanOrEqual(100);
    const countries = new Set(specs.map((s) => s.countryCode).filter((c) => !(c in NON_COUNTRY_CODES)));
    expect(countries.size).toBeGreaterThanOrEqual(60);
    expect(new Set(specs.map((s) => s.documentType))).toEqual(new Set(DOCUMENT_TYPES));
  });

  it('a head band the rule does not give is the ICAO 70-80 % of the frame, and says so', () => {
    const derived = table.list().filter((s) => s.source.derived?.includes('headHeightMm'));
    expect(derived.length).toBeGreaterThan(0);
    for (const spec of derived) expect(spec.headHeightMm, spec.code).toEqual(icaoHeadBand(spec.heightMm));
    // anchors carry the country's own figures, never the fill-in
    for (const code of ['us-passport', 'gb-passport', 'schengen-visa', 'de-passport', 'au-passport', 'nl-passport', 'ca-passport', 'cn-passport'])
      expect(table.get(code)!.source.derived, code).toBeUndefined();
  });

  it('docs/photo-specs.md lists every spec in its sources table', () => {
    const doc = readFileSync(new URL('../../../docs/photo-specs.md', import.meta.url), 'utf8');
    const missing = table.list().filter((s) => !doc.includes(`| \`${s.code}\` | ${s.countryCode} |`));
    expect(missing.map((s) => s.code)).toEqual([]);
  });

  it('looks specs up by code and by country and document type, as the two photo APIs do', () => {
    expect(table.get('us-passport')).toMatchObject({ country: 'United States', countryCode: 'US', documentType: 'passport', documentLabel: 'US Passport' });
    expect(table.find('US', 'passport')?.code).toBe('us-passport');
    expect(table.find('EU', 'visa')?.code).toBe('schengen-visa');
    expect(table.get('xx-passport')).toBeUndefined();
    expect(table.find('GB', 'residence-permit')).toBeUndefined();
    expect(table.find('GB', 'driving-licence')?.code).toBe('gb-driving-licence');
    expect(new Set(table.list().map((s) => s.code)).size).toBe(table.list().length);
  });

  it('a rule tied to the print size gives the same pixels as mm x dpi', () => {
    const us = table.get('us-passport')!;
    expect([mmToPx(us.widthMm, us.dpi), mmToPx(us.heightMm, us.dpi)]).toEqual([600, 600]);
    for (const spec of table.list().filter((s) => s.digital?.tiedToPrint)) {
      const px = mmToPx(spec.widthMm, spec.dpi);
      expect(px, spec.code).toBeGreaterThanOrEqual(spec.digital!.widthPx!.min - 1);
      expect(px, spec.code).toBeLessThanOrEqual(spec.digital!.widthPx!.max + 1);
    }
  });

  it('the committed JSON Schema is the one generated from the zod schema, and accepts the shipped file', () => {
    const committed = readFileSync(SPECS_SCHEMA_FILE, 'utf8');
    // on failure regenerate it with the command in the comment above specsJsonSchema()
    expect(committed).toBe(specsJsonSchema());
    expect(shipped.$schema).toBe('./specs.schema.json');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(committed));
    expect(validate(shipped), JSON.stringify(validate.errors)).toBe(true);
    const withUnknownField = { specs: [{ ...shipped.specs[0], colour: 'red' }] };
    expect(validate(withUnknownField)).toBe(false);
  });

  it('refuses a broken entry, naming the entry and the field', () => {
    expect(() => loadSpecTable(tableWith(() => {}))).not.toThrow();
    const refusals: [string, RegExp][] = [
      [patch('gb-passport', { headHeightMm: { min: 34, max: 29 } }), /specs\[\d+\] \(gb-passport\)\.headHeightMm: min must not exceed max/],
      [patch('gb-passport', { headHeightMm: { min: 29, max: 45 } }), /\(gb-passport\)\.headHeightMm\.max: head band max 45 mm must be below the frame height 45 mm/],
      [patch('us-passport', { eyeLineFromBottomMm: { min: 28.6, max: 51 } }), /\(us-passport\)\.eyeLineFromBottomMm\.max: eye band max 51 mm/],
      [patch('gb-passport', { headHeightMM: { min: 29, max: 34 } }), /\(gb-passport\): Unrecognized key: "headHeightMM"/],
      [patch('gb-passport', { countryCode: 'UK' }), /\(gb-passport\)\.countryCode: not an ISO 3166-1 alpha-2 country code/],
      [patch('gb-passport', { dpi: 2400 }), /\(gb-passport\)\.dpi: /],
      [patch('gb-passport', { dpi: 71 }), /\(gb-passport\)\.dpi: /],
      [patch('gb-passport', { documentType: 'permit' }), /\(gb-passport\)\.documentType: /],
      [patch('us-passport', { dpi: 700 }), /\(us-passport\)\.digital\.widthPx: 50\.8 mm at 700 dpi is 1400 px, outside 600-1200 px/],
      [patch('us-passport', { dpi: 200 }), /\(us-passport\)\.digital\.widthPx: 50\.8 mm at 200 dpi is 400 px, outside 600-1200 px/],
      [patch('cn-passport', { digital: { fileSizeKb: { min: 120, max: 40 } } }), /\(cn-passport\)\.digital\.fileSizeKb: min must not exceed max \(KB\)/],
      [patch('gb-passport', { background: { default: '#FFFFFF', allowed: ['#D3D3D3'], forbidden: [], editingAllowed: false } }), /\(gb-passport\)\.background\.default: default #FFFFFF is not among/],
      [patch('gb-passport', { background: { default: '#D3D3D3', allowed: ['#D3D3D3'], forbidden: ['#D3D3D3'], editingAllowed: false } }), /\(gb-passport\)\.background\.forbidden: #D3D3D3 both allowed and forbidden/],
      [patch('gb-passport', { background: { default: '#EEEEEE', allowed: ['#EEEEEE'], forbidden: [], editingAllowed: false } }), /\(gb-passport\)\.background\.default: a background colour is one of #FFFFFF/],
      [patch('gb-passport', { source: { title: 'x', authority: 'y', checked: '24/11/2026' } }), /\(gb-passport\)\.source\.checked: /],
      [patch('cn-passport', { digital: { fileSizeKb: {} } }), /\(cn-passport\)\.digital\.fileSizeKb: a file-size band needs min, max or both/],
      [patch('de-id-card', { country: 'Deutschland' }), /\(de-id-card\)\.country: DE is "Germany" elsewhere, not "Deutschland"/],
      [patch('it-passport', { headHeightMm: { min: 32, max: 36 } }), /\(it-passport\)\.headHeightMm: a head band derived from ICAO is 31\.5-36 mm for a 45 mm frame/],
      [tableWith((specs) => specs.push({ ...specs[indexOf('gb-passport')], documentType: 'visa' })), /specs\[\d+\] \(gb-passport\)\.code: duplicate code gb-passport \(also specs\[\d+\]\)/],
      [tableWith((specs) => specs.push({ ...specs[indexOf('gb-passport')], code: 'uk-passport' })), /\(uk-passport\)\.documentType: second GB\/passport spec/],
    ];
    for (const [file, message] of refusals) expect(() => loadSpecTable(file), String(message)).toThrow(message);
  });
});

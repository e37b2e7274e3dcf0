import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * ISO 3166-1 alpha-2, officially assigned codes. A list rather than Intl.DisplayNames: the latter also names
 * reserved, deleted and CLDR-only codes (EU, UN, QO, XK, ...), which would let a typo through.
 */
const ISO_3166_ALPHA2 = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
    'UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

/**
 * Codes outside the assigned set that a rule can belong to: EU is exceptionally reserved in ISO 3166-1 for the
 * European Union (the Schengen visa rule is EU-wide); ZZ is user-assigned and marks a rule of no single country
 * (the ICAO generic spec).
 */
export const NON_COUNTRY_CODES = { EU: 'European Union (exceptionally reserved)', ZZ: 'no single country (user-assigned)' } as const;

export const DOCUMENT_TYPES = ['passport', 'visa', 'id-card', 'residence-permit', 'driving-licence', 'other'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** The spec table's print resolutions, as the generate API accepts them. */
export const MIN_DPI = 72;
export const MAX_DPI = 1200;

const MM_PER_INCH = 25.4;

/** Pixels a printed length covers at a resolution, rounded as the output size is. */
export const mmToPx = (mm: number, dpi: number): number => Math.round((mm / MM_PER_INCH) * dpi);

/** The ICAO 9303 head band, 70-80 % of the frame height, to 0.1 mm: the fill-in where a rule gives no head band. */
export const icaoHeadBand = (frameHeightMm: number) => ({ min: Math.round(frameHeightMm * 7) / 10, max: Math.round(frameHeightMm * 8) / 10 });

const band = (unit: string) =>
  z
    .strictObject({ min: z.number().positive(), max: z.number().positive() })
    .refine((b) => b.min <= b.max, `min must not exceed max (${unit})`);

const pixelBand = z
  .strictObject({ min: z.int().positive(), max: z.int().positive() })
  .refine((b) => b.min <= b.max, 'min must not exceed max (px)');

/**
 * The colours rules name, each as one representative #RRGGBB (CSS named colours where one exists), with the
 * name an API reports beside it (reference 001's backgroundColorName).
 */
export const BACKGROUND_COLOURS = {
  '#FFFFFF': 'white',
  '#F5F5F5': 'off-white',
  '#D3D3D3': 'light grey',
  '#FFFDD0': 'cream',
  '#ADD8E6': 'light blue',
} as const;
export type BackgroundColour = keyof typeof BACKGROUND_COLOURS;

const colour = z.enum(Object.keys(BACKGROUND_COLOURS) as [BackgroundColour, ...BackgroundColour[]], {
  error: `a background colour is one of ${Object.keys(BACKGROUND_COLOURS).join(', ')} (see BACKGROUND_COLOURS)`,
});

const backgroundSchema = z
  .strictObject({
    /** the colour a replaced background gets when the request names none */
    default: colour,
    allowed: z.array(colour).min(1),
    forbidden: z.array(colour),
    /** false where the rule forbids retouching the photo: the original background must be kept */
    editingAllowed: z.boolean(),
  })
  .superRefine((bg, ctx) => {
    if (!bg.allowed.includes(bg.default)) ctx.addIssue({ code: 'custom', path: ['default'], message: `default ${bg.default} is not among the allowed colours` });
    const both = bg.allowed.filter((c) => bg.forbidden.includes(c));
    if (both.length > 0) ctx.addIssue({ code: 'custom', path: ['forbidden'], message: `${both.join(', ')} both allowed and forbidden` });
  });

const digitalSchema = z.strictObject({
  widthPx: pixelBand.optional(),
  heightPx: pixelBand.optional(),
  fileSizeKb: z
    .strictObject({ min: z.number().positive().optional(), max: z.number().positive().optional() })
    .refine((b) => b.min !== undefined || b.max !== undefined, 'a file-size band needs min, max or both')
    .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, 'min must not exceed max (KB)')
    .optional(),
  format: z.literal('jpeg').optional(),
  /**
   * true where the rule's pixel size is the printed frame at the spec's dpi (US: 2 in at 300 dpi = 600 px);
   * false or absent where the digital rule stands apart from the print size (CN: 354 × 472 px for a 33 × 48 mm print).
   */
  tiedToPrint: z.boolean().optional(),
});

const photoSpecSchema = z
  .strictObject({
    code: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'a code is lower-case words joined by hyphens, e.g. us-passport'),
    country: z.string().min(1),
    countryCode: z
      .string()
      .regex(/^[A-Z]{2}$/, 'a country code is two upper-case letters')
      .refine((c) => ISO_3166_ALPHA2.has(c) || c in NON_COUNTRY_CODES, 'not an ISO 3166-1 alpha-2 country code'),
    documentType: z.enum(DOCUMENT_TYPES),
    documentLabel: z.string().min(1),
    widthMm: z.number().positive(),
    heightMm: z.number().positive(),
    dpi: z.int().min(MIN_DPI).max(MAX_DPI),
    /** chin to crown, the crown being the top of the hair */
    headHeightMm: band('mm'),
    /** true where the rule measures the head to the top of the skull, hair excluded (France, Finland) */
    headHeightExcludesHair: z.boolean().optional(),
    /** eye line measured from the bottom edge of the frame, where the rule gives one */
    eyeLineFromBottomMm: band('mm').optional(),
    /** minimum distance between the eye centres in the digital image, where the rule gives one */
    minEyeDistancePx: z.int().positive().optional(),
    background: backgroundSchema,
    digital: digitalSchema.optional(),
    rules: z.strictObject({
      expression: z.enum(['neutral', 'neutral-or-natural-smile']),
      glasses: z.enum(['forbidden', 'allowed-no-glare', 'allowed']),
      headCovering: z.enum(['religious-or-medical-only', 'forbidden', 'allowed']),
    }),
    source: z.strictObject({
      /** title of the authority's page or document the figures come from */
      title: z.string().min(1),
      authority: z.string().min(1),
      checked: z.iso.date(),
      /**
       * fields the rule does not give, filled from the ICAO 9303 baseline (head 70-80 % of the frame height);
       * listed so no one mistakes them for the country's own figures
       */
      derived: z.array(z.literal('headHeightMm')).optional(),
      /** what a reader of the figures should know: a conflicting source, a live-capture route, a unit quirk */
      note: z.string().min(1).optional(),
    }),
  })
  .superRefine((spec, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (spec.source.derived?.includes('headHeightMm')) {
      const icao = icaoHeadBand(spec.heightMm);
      if (spec.headHeightMm.min !== icao.min || spec.headHeightMm.max !== icao.max)
        issue(['headHeightMm'], `a head band derived from ICAO is ${icao.min}-${icao.max} mm for a ${spec.heightMm} mm frame`);
    }
    if (spec.headHeightMm.max >= spec.heightMm) issue(['headHeightMm', 'max'], `head band max ${spec.headHeightMm.max} mm must be below the frame height ${spec.heightMm} mm`);
    const eyes = spec.eyeLineFromBottomMm;
    if (eyes && eyes.max >= spec.heightMm) issue(['eyeLineFromBottomMm', 'max'], `eye band max ${eyes.max} mm must lie inside the frame height ${spec.heightMm} mm`);
    const digital = spec.digital;
    if (digital?.tiedToPrint) {
      const sides = [
        ['widthPx', spec.widthMm],
        ['heightPx', spec.heightMm],
      ] as const;
      if (!digital.widthPx && !digital.heightPx) issue(['digital', 'tiedToPrint'], 'tiedToPrint needs widthPx or heightPx');
      for (const [side, mm] of sides) {
        const pixels = digital[side];
        const printed = mmToPx(mm, spec.dpi);
        // one pixel of slack: rules round inches to whole pixels (2 in at 300 dpi is 600, 50.8 mm is 600.0)
        if (pixels && (printed < pixels.min - 1 || printed > pixels.max + 1))
          issue(['digital', side], `${mm} mm at ${spec.dpi} dpi is ${printed} px, outside ${pixels.min}-${pixels.max} px`);
      }
    }
  });

const specFileSchema = z
  .strictObject({
    /** the JSON Schema an editor validates against; ignored here */
    $schema: z.string().optional(),
    specs: z.array(photoSpecSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    const byCountryType = new Map<string, number>();
    const countryNames = new Map<string, string>();
    file.specs.forEach((spec, i) => {
      if (seen.has(spec.code)) ctx.addIssue({ code: 'custom', path: ['specs', i, 'code'], message: `duplicate code ${spec.code} (also specs[${seen.get(spec.code)}])` });
      else seen.set(spec.code, i);
      // the analyze/generate API (reference 000) picks a spec by country code and document type: that pair must name one
      const key = `${spec.countryCode}/${spec.documentType}`;
      if (byCountryType.has(key)) ctx.addIssue({ code: 'custom', path: ['specs', i, 'documentType'], message: `second ${key} spec (also specs[${byCountryType.get(key)}])` });
      else byCountryType.set(key, i);
      const name = countryNames.get(spec.countryCode);
      if (name !== undefined && name !== spec.country)
        ctx.addIssue({ code: 'custom', path: ['specs', i, 'country'], message: `${spec.countryCode} is "${name}" elsewhere, not "${spec.country}"` });
      else countryNames.set(spec.countryCode, spec.country);
    });
  });

export type PhotoSpec = z.infer<typeof photoSpecSchema>;

export interface SpecTable {
  /** the spec with this code, e.g. `us-passport`; undefined when there is none */
  get(code: string): PhotoSpec | undefined;
  /** the spec for a country code (ISO 3166-1 alpha-2, upper case) and document type, as reference 000 selects one */
  find(countryCode: string, documentType: DocumentType): PhotoSpec | undefined;
  /** every spec, in file order */
  list(): readonly PhotoSpec[];
}

export const DEFAULT_SPECS_FILE = new URL('./specs.json', import.meta.url);
export const SPECS_SCHEMA_FILE = new URL('./specs.schema.json', import.meta.url);

/** Names a failing path by the spec's code, so a message reads `specs[3] (gb-passport).headHeightMm.max`. */
function describePath(raw: unknown, path: PropertyKey[]): string {
  const [root, index, ...rest] = path;
  if (root !== 'specs' || typeof index !== 'number') return path.map(String).join('.') || '(file)';
  const entry = (raw as { specs?: unknown[] }).specs?.[index] as { code?: unknown } | undefined;
  const name = typeof entry?.code === 'string' ? ` (${entry.code})` : '';
  return [`specs[${index}]${name}`, ...rest.map(String)].join('.');
}

/** Reads and validates the spec table once, at start; a bad entry stops the server, naming the entry and field. */
export function loadSpecTable(file: URL | string = DEFAULT_SPECS_FILE): SpecTable {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const parsed = specFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${describePath(raw, i.path)}: ${i.message}`);
    throw new Error(`photo spec table ${String(file)}: ${problems.join('; ')}`);
  }
  const specs = parsed.data.specs;
  const byCode = new Map(specs.map((s) => [s.code, s]));
  const byCountryType = new Map(specs.map((s) => [`${s.countryCode}/${s.documentType}`, s]));
  return {
    get: (code) => byCode.get(code),
    find: (countryCode, documentType) => byCountryType.get(`${countryCode}/${documentType}`),
    list: () => specs,
  };
}

/**
 * The JSON Schema of specs.json, generated from the zod schema (cross-field checks are zod-only refinements).
 * Regenerate after a schema change:
 *   node --import tsx -e "import('./src/photo/specs/spec-table.ts').then((m) => process.stdout.write(m.specsJsonSchema()))" > src/photo/specs/specs.schema.json
 */
export function specsJsonSchema(): string {
  const schema = z.toJSONSchema(specFileSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Passport / ID photo spec table' }, null, 2)}\n`;
}

import type { RgbImage } from '../pipeline/types.ts';
import { withMats, type OpenCv } from './opencv.ts';

// The machine-readable zone tells the ISO/IEC 7810 formats apart where the shape cannot: ID-2 (105 × 74
// mm) and ID-3 (125 × 88 mm) have the same aspect ratio, and a shape seen under perspective can pass an
// ID-3 page for an ID-1 card; but ICAO 9303 gives the TD1 zone (ID-1) 3 lines of 30 characters, the TD2
// zone 2 lines of 36 and the TD3 zone (passports) 2 lines of 44, at a fixed pitch of 2.54 mm. Counting the
// characters of a line needs no reading: the zone is printed in a monospaced font, so the ink along a
// line repeats with the pitch, and its length over the pitch is the count.

/** the document is examined at this width: an ID-3 page is then 8 pixels a millimetre, its MRZ characters 20 apart */
const WORK_WIDTH = 1000;

/** a dark print feature narrower than this (pixels at WORK_WIDTH) is ink: the characters, not the portrait or dark panels */
const INK_KERNEL = { width: 25, height: 11 };

/** joins the characters of a line (a gap of up to ~1 mm) but not lines above each other */
const LINE_KERNEL = { width: 21, height: 1 };

/** an MRZ line spans ~85–90 % of the document's width; other text lines are shorter */
const MIN_LINE_SHARE = 0.6;

/** height of an MRZ line as a share of the document's: 2.4 mm characters on a 74–88 mm page is 0.027–0.032 */
const LINE_HEIGHT_SHARE = { min: 0.012, max: 0.07 };

/** pitch range searched, pixels at WORK_WIDTH: 2.54 mm on documents 75–170 mm wide */
const PITCH_RANGE = { min: 15, max: 34 };

/** least normalised autocorrelation at the pitch for a line to count as monospaced (the MRZ) */
const MIN_PERIODICITY = 0.3;

export interface MrzLine {
  /** characters in the line: its inked length over its pitch */
  characters: number;
  /** normalised autocorrelation of the ink at the pitch, 0–1 */
  periodicity: number;
  /** where the line's middle is, down the document: 0 at its top edge, 1 at its bottom */
  centre: number;
}

/** The monospaced, nearly full-width lines of the document (upright or upside down): its MRZ lines, top to bottom. */
export function mrzLines(cv: OpenCv, document: RgbImage): MrzLine[] {
  return withMats((keep) => {
    const rgb = keep(new cv.Mat(document.height, document.width, cv.CV_8UC3));
    rgb.data.set(document.data);
    const width = WORK_WIDTH;
    const height = Math.max(1, Math.round((document.height * WORK_WIDTH) / document.width));
    const small = keep(new cv.Mat());
    cv.resize(rgb, small, new cv.Size(width, height), 0, 0, cv.INTER_AREA);
    const gray = keep(new cv.Mat());
    cv.cvtColor(small, gray, cv.COLOR_RGB2GRAY);
    const darkness = keep(new cv.Mat());
    cv.morphologyEx(gray, darkness, cv.MORPH_BLACKHAT, keep(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(INK_KERNEL.width, INK_KERNEL.height))));
    const ink = keep(new cv.Mat());
    cv.threshold(darkness, ink, 0, 255, cv.THRESH_BINARY | cv.THRESH_OTSU);
    const joined = keep(new cv.Mat());
    cv.morphologyEx(ink, joined, cv.MORPH_CLOSE, keep(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(LINE_KERNEL.width, LINE_KERNEL.height))));
    const contours = keep(new cv.MatVector());
    cv.findContours(joined, contours, keep(new cv.Mat()), cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE);
    const lines: MrzLine[] = [];
    for (let i = 0; i < contours.size(); i++) {
      const contour = contours.get(i);
      const box = cv.boundingRect(contour);
      contour.delete();
      if (box.width < MIN_LINE_SHARE * width || box.height < LINE_HEIGHT_SHARE.min * height || box.height > LINE_HEIGHT_SHARE.max * height) continue;
      const line = measureLine(ink, box);
      if (line && line.periodicity >= MIN_PERIODICITY) lines.push({ ...line, centre: (box.y + box.height / 2) / height });
    }
    return lines.sort((a, b) => a.centre - b.centre);
  });
}

/** the line's pitch from the autocorrelation of its ink per column, and its length in pitches */
function measureLine(ink: { data: Uint8Array; cols: number }, box: { x: number; y: number; width: number; height: number }): Omit<MrzLine, 'centre'> | undefined {
  const profile = new Float64Array(box.width);
  // one view: every read of a Mat's `data` builds a new one through embind
  const pixels = ink.data;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = 0; x < box.width; x++) if (pixels[y * ink.cols + box.x + x]) profile[x]++;
  }
  const first = profile.findIndex((v) => v > 0);
  let last = profile.length - 1;
  while (last > first && profile[last] === 0) last--;
  if (first < 0 || last - first < 2 * PITCH_RANGE.max) return undefined;
  const mean = profile.reduce((s, v) => s + v, 0) / profile.length;
  const centred = profile.map((v) => v - mean);
  const correlation = (lag: number) => {
    let sum = 0;
    for (let x = 0; x + lag < centred.length; x++) sum += centred[x] * centred[x + lag];
    return sum / (centred.length - lag);
  };
  const energy = correlation(0);
  if (energy <= 0) return undefined;
  const r = Array.from({ length: PITCH_RANGE.max + 2 }, (_, lag) => (lag >= PITCH_RANGE.min - 1 ? correlation(lag) / energy : 0));
  const best = Math.max(...r.slice(PITCH_RANGE.min, PITCH_RANGE.max + 1));
  // the first clear peak: multiples of the pitch correlate nearly as well
  let lag = PITCH_RANGE.min;
  while (lag < PITCH_RANGE.max && !(r[lag] >= 0.85 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1])) lag++;
  // parabolic refinement of the peak to a fraction of a pixel: 44 characters make a pixel of pitch two characters of count
  const denominator = r[lag - 1] - 2 * r[lag] + r[lag + 1];
  const pitch = denominator < 0 ? lag + (0.5 * (r[lag - 1] - r[lag + 1])) / denominator : lag;
  // the ink runs from the first character's left stroke to the last one's right: (n − 1) pitches and a character's width (~¾ pitch)
  return { characters: Math.round((last - first + 1) / pitch + 0.25), periodicity: r[lag] };
}

/** ICAO 9303 characters per MRZ line, by the size of document that prints it: TD1 (ID-1 cards, 3 lines), TD2 (ID-2, 2 lines), TD3 (ID-3 passport pages, 2 lines) */
const CHARACTERS_PER_LINE = { 'ID-1': 30, 'ID-2': 36, 'ID-3': 44 } as const;

/** how far a counted line may be from a format's count and still be read as that format's */
const COUNT_TOLERANCE = 2;

/**
 * Most a zone line may sit from the next, as a share of the page height: the fixtures' zones space their
 * lines 0.07–0.09 of the page apart, and one line of a three-line zone may go unread.
 */
const MAX_ZONE_LINE_GAP = 0.18;

/**
 * The machine-readable zone among a page's monospaced lines, either way up: of the runs of two or more
 * lines at zone spacing, the one nearest an edge of the page, along which ICAO 9303 prints it. Other
 * print can be monospaced too: 100_pass-polx.jpg has two such lines near its top, 100_pass-ltu.jpg one,
 * 100_pass-hrv.jpg one mid-page.
 */
export function zoneOf(lines: readonly MrzLine[]): MrzLine[] {
  const runs: MrzLine[][] = [];
  for (const line of [...lines].sort((a, b) => a.centre - b.centre)) {
    const run = runs.at(-1);
    if (run && line.centre - run[run.length - 1].centre <= MAX_ZONE_LINE_GAP) run.push(line);
    else runs.push([line]);
  }
  const fromEdge = (run: MrzLine[]) => Math.min(run[0].centre, 1 - run[run.length - 1].centre);
  return runs.filter((run) => run.length >= 2).sort((a, b) => fromEdge(a) - fromEdge(b))[0] ?? [];
}

/**
 * The format the zone is printed for: the one whose line length two or more of its lines have, with no
 * line of another format's length. Undefined without such clear evidence.
 */
export function formatOfZone(lines: readonly MrzLine[]): keyof typeof CHARACTERS_PER_LINE | undefined {
  const zone = zoneOf(lines);
  const formats = (Object.keys(CHARACTERS_PER_LINE) as Array<keyof typeof CHARACTERS_PER_LINE>).map((format) => ({
    format,
    lines: zone.filter((l) => Math.abs(l.characters - CHARACTERS_PER_LINE[format]) <= COUNT_TOLERANCE).length,
  }));
  const read = formats.filter((f) => f.lines > 0);
  return read.length === 1 && read[0].lines >= 2 ? read[0].format : undefined;
}

/**
 * Which way up the zone says the document is: ICAO 9303 prints it along the bottom edge of every format
 * (TD1 card backs, TD2 and TD3 data pages), so a zone in the top half means the document is upside down.
 * Undefined without a zone.
 */
export function uprightByMrz(lines: readonly MrzLine[]): 0 | 180 | undefined {
  const zone = zoneOf(lines);
  if (zone.length === 0) return undefined;
  return middle(zone) > 0.5 ? 0 : 180;
}

/**
 * Where the zone begins on the document turned upright by `turn`: the centre of its first line, 0–1 down
 * the page, or 1 when there is no zone in the bottom half (where ICAO 9303 prints it).
 */
export function mrzTop(lines: readonly MrzLine[], turn: 0 | 180): number {
  const zone = zoneOf(lines).map((l) => (turn === 180 ? { ...l, centre: 1 - l.centre } : l));
  return zone.length > 0 && middle(zone) > 0.5 ? Math.min(...zone.map((l) => l.centre)) : 1;
}

function middle(lines: readonly MrzLine[]): number {
  return lines.reduce((sum, l) => sum + l.centre, 0) / lines.length;
}

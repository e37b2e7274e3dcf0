import type { RgbImage } from '../pipeline/types.ts';
import { withMats, type OpenCv } from './opencv.ts';

// The machine-readable zone tells the ISO/IEC 7810 formats apart where the shape cannot: ID-2 (105 × 74
// mm) and ID-3 (125 × 88 mm) have the same aspect ratio, but ICAO 9303 gives the TD2 zone 2 lines of 36
// characters and the TD3 zone (passports) 2 lines of 44, at a fixed pitch of 2.54 mm. Counting the
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

/** ICAO 9303 characters per MRZ line: TD2 (ID-2) and TD3 (ID-3) */
const CHARACTERS_PER_LINE = { 'ID-2': 36, 'ID-3': 44 } as const;

/** how far a counted line may be from a format's count and still be read as that format's */
const COUNT_TOLERANCE = 2;

function linesOf(lines: readonly MrzLine[], format: keyof typeof CHARACTERS_PER_LINE): number {
  return lines.filter((l) => Math.abs(l.characters - CHARACTERS_PER_LINE[format]) <= COUNT_TOLERANCE).length;
}

/**
 * The format of a document shaped like ID-2 and ID-3: ID-2 only when the evidence is clear (two or more
 * lines of TD2's 36 characters and none of TD3's 44); ID-3, the passport page and the commoner, otherwise.
 */
export function formatOfMrz(lines: readonly MrzLine[]): 'ID-2' | 'ID-3' {
  return linesOf(lines, 'ID-2') >= 2 && linesOf(lines, 'ID-3') === 0 ? 'ID-2' : 'ID-3';
}

/**
 * Which way up the zone says the document is: ICAO 9303 prints it along the bottom edge of every format
 * (TD1 card backs, TD2 and TD3 data pages), so zone lines in the top half mean the document is upside
 * down. Undefined without a zone of two or more lines.
 */
export function uprightByMrz(lines: readonly MrzLine[]): 0 | 180 | undefined {
  if (lines.length < 2) return undefined;
  const centre = lines.reduce((sum, l) => sum + l.centre, 0) / lines.length;
  return centre > 0.5 ? 0 : 180;
}

/**
 * Most a zone line may sit above the next one down, as a share of the page height: the fixtures' zones
 * space their lines 0.07–0.09 of the page apart, and one line of a three-line zone may go unread. A
 * monospaced line further up is other print (100_pass-hrv.jpg has one at 0.56, its zone at 0.81).
 */
const MAX_ZONE_LINE_GAP = 0.18;

/**
 * Where the zone begins on the document turned upright by `turn`: the centre of its first line, 0–1 down
 * the page, or 1 when no zone line lies in the bottom half (where ICAO 9303 prints it). The zone is the
 * bottom line and those above it at zone spacing.
 */
export function mrzTop(lines: readonly MrzLine[], turn: 0 | 180): number {
  const centres = lines.map((l) => (turn === 180 ? 1 - l.centre : l.centre)).filter((c) => c > 0.5).sort((a, b) => b - a);
  let top = centres[0] ?? 1;
  for (const centre of centres.slice(1)) {
    if (top - centre > MAX_ZONE_LINE_GAP) break;
    top = centre;
  }
  return top;
}

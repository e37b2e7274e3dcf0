import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { Checkpoint } from './checkpoint.ts';
import type { ProgressBar } from './progress.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.jp2', '.j2k']);

export interface EnrolmentItem {
  /** path relative to the folder: the checkpoint's key */
  file: string;
  subjectId: string;
}

/**
 * Images under `dir` with their subject ids: a file in a sub-folder belongs to the subject named by its
 * top-level folder (`alice/1.jpg`, `alice/2.jpg` → "alice"); a file directly in `dir` is its own subject,
 * named by the file name without extension. Sorted, so a resumed run meets the files in the same order.
 */
export function listByFolder(dir: string): EnrolmentItem[] {
  const items: EnrolmentItem[] = [];
  for (const path of walk(dir)) {
    const file = relative(dir, path);
    const parts = file.split(sep);
    items.push({ file, subjectId: parts.length > 1 ? parts[0] : basename(file, extname(file)) });
  }
  return items.sort((a, b) => a.file.localeCompare(b.file));
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    // a gallery folder is often assembled from links to where the photos are kept
    const kind = entry.isSymbolicLink() ? statSync(path) : entry;
    if (kind.isDirectory()) yield* walk(path);
    else if (kind.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) yield path;
  }
}

/**
 * A CSV mapping with a header naming `file` and `subject_id` columns (file relative to the folder).
 * Values may be double-quoted (RFC 4180), so an id may hold commas.
 */
export function listByCsv(csvText: string): EnrolmentItem[] {
  const rows = parseCsv(csvText).filter((row) => row.some((cell) => cell !== ''));
  const header = rows.shift()?.map((name) => name.trim());
  const fileColumn = header?.indexOf('file') ?? -1;
  const subjectColumn = header?.indexOf('subject_id') ?? -1;
  if (fileColumn < 0 || subjectColumn < 0) throw new Error('the CSV mapping needs a header row with "file" and "subject_id" columns');
  return rows.map((row, index) => {
    const file = row[fileColumn];
    const subjectId = row[subjectColumn];
    if (!file || subjectId === undefined) throw new Error(`CSV row ${index + 2} has no file or no subject_id`);
    return { file, subjectId };
  });
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') row.push(cell), (cell = '');
    else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(cell), rows.push(row), (row = []), (cell = '');
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) row.push(cell), rows.push(row);
  return rows;
}

export interface EnrolOptions {
  dir: string;
  items: EnrolmentItem[];
  partition: string;
  /** server base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  apiKey?: string;
  checkpoint: Checkpoint;
  /** requests in flight at once */
  concurrency: number;
  progress?: (total: number) => ProgressBar;
}

export interface EnrolReport {
  /** items the checkpoint already held: done by an earlier run */
  skipped: number;
  enrolled: number;
  refused: number;
  /** transport errors and 5xx answers: not in the checkpoint, so a resumed run tries them again */
  failed: Array<{ file: string; reason: string }>;
}

const xml = new XMLParser({ parseTagValue: false });

/**
 * Enrols through the API (the server runs the pipeline, its policies, its audit log, and holds the data
 * directory). A 4xx answer is a refusal of that photo: its code goes to the checkpoint and is not retried.
 */
export async function enrolDirectory(options: EnrolOptions): Promise<EnrolReport> {
  const pending = options.items.filter((item) => !options.checkpoint.has(item.file));
  const report: EnrolReport = { skipped: options.items.length - pending.length, enrolled: 0, refused: 0, failed: [] };
  const bar = options.progress?.(pending.length);
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const item = pending[next++];
      const outcome = await enrolOne(options, item).catch((error: unknown) => {
        if (error instanceof FatalEnrolError) throw error;
        return { retry: (error as Error).message };
      });
      if ('retry' in outcome) report.failed.push({ file: item.file, reason: outcome.retry });
      else {
        options.checkpoint.record(item.file, outcome.code);
        if (outcome.code === 'ok') report.enrolled++;
        else report.refused++;
      }
      bar?.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  bar?.finish();
  return report;
}

async function enrolOne(options: EnrolOptions, item: EnrolmentItem): Promise<{ code: string } | { retry: string }> {
  const form = new FormData();
  const bytes = readFileSync(join(options.dir, item.file));
  form.append('image', new Blob([new Uint8Array(bytes)]), basename(item.file));
  form.append('metadata', JSON.stringify({ subject_id: item.subjectId, partition: options.partition }));
  const headers: Record<string, string> = options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {};
  const response = await fetch(new URL('/api/v1/enrol', options.url), { method: 'POST', body: form, headers });
  const text = await response.text();
  if (response.ok) return { code: 'ok' };
  if (response.status >= 500 || response.status === 429) return { retry: `HTTP ${response.status}` };
  // 401/403 would refuse every photo alike: stop rather than write the whole folder into the checkpoint
  if (response.status === 401 || response.status === 403) throw new FatalEnrolError(`the server answered ${response.status}: ${text}`);
  const code = (xml.parse(text) as { ErrorResponse?: { code?: string } }).ErrorResponse?.code;
  return { code: code ?? `http_${response.status}` };
}

export class FatalEnrolError extends Error {}

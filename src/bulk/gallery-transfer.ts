import { TEMPLATE_SOURCES, type Gallery } from '../gallery/gallery.ts';
import { assertPartitionName, assertSubjectId } from '../gallery/identifiers.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { ExportHeader, ExportRecord } from './sealed-export.ts';
import type { ProgressBar } from './progress.ts';

const PAGE = 500;

/** Every template of a partition with its subject id, source, quality, model id and time. */
export async function exportPartition(gallery: Gallery, partition: string, progress?: (total: number) => ProgressBar): Promise<ExportRecord[]> {
  if (!(await gallery.hasPartition(partition))) throw new Error(`no partition "${partition}" in this gallery (it has: ${(await gallery.partitions()).join(', ')})`);
  const total = (await gallery.listSubjects(partition, 0, 1)).total;
  const bar = progress?.(total);
  const records: ExportRecord[] = [];
  for (let offset = 0; offset < total; offset += PAGE) {
    for (const { subjectId } of (await gallery.listSubjects(partition, offset, PAGE)).subjects) {
      const detail = await gallery.subjectDetail(partition, subjectId);
      const templates = await gallery.subjectTemplates(partition, subjectId);
      if (!detail || !templates) continue; // deleted while we read
      // both are in template-id order
      templates.forEach(({ template, source }, index) => {
        const meta = detail.templates[index];
        records.push({
          subject_id: subjectId,
          source,
          quality: meta.quality,
          model_id: meta.modelId,
          created_at: meta.createdAt,
          template: Buffer.from(template.buffer, template.byteOffset, template.byteLength).toString('base64'),
        });
      });
      bar?.tick();
    }
  }
  bar?.finish();
  return records;
}

export interface ImportReport {
  skipped: number;
  imported: number;
  refused: number;
}

/**
 * Adds the records to `partition`. The whole file is refused when its templates come from another
 * recognition model than this server's (their scores against this gallery would mean nothing); a single
 * record is refused, with a code, when its id or vector is unusable. The checkpoint is keyed by record
 * number, so a resumed import adds each template once.
 */
export async function importRecords(options: {
  gallery: Gallery;
  modelId: string;
  header: ExportHeader;
  records: ExportRecord[];
  partition: string;
  dimension: number;
  checkpoint: Checkpoint;
  progress?: (total: number) => ProgressBar;
}): Promise<ImportReport> {
  const { gallery, modelId, header, records, partition, checkpoint } = options;
  assertSameModel(header.model_id, modelId);
  const foreign = (await gallery.templateModelIds()).filter((id) => id !== modelId);
  if (foreign.length > 0) throw new Error(`the target gallery holds templates of ${foreign.join(', ')}: it cannot take ${modelId} templates`);
  assertPartitionName(partition);
  const pending = records.map((record, index) => ({ record, item: String(index) })).filter(({ item }) => !checkpoint.has(item));
  const report: ImportReport = { skipped: records.length - pending.length, imported: 0, refused: 0 };
  const bar = options.progress?.(pending.length);
  for (const { record, item } of pending) {
    const code = await importOne(gallery, partition, record, modelId, options.dimension);
    checkpoint.record(item, code);
    if (code === 'ok') report.imported++;
    else report.refused++;
    bar?.tick();
  }
  bar?.finish();
  await gallery.flush();
  return report;
}

/** Cosine similarity between templates of two networks means nothing, so a whole file of them is refused. */
export function assertSameModel(fileModel: string, serverModel: string): void {
  if (fileModel !== serverModel) {
    throw new Error(`the export holds templates of ${fileModel}, this server's recognition model is ${serverModel}: templates of different models cannot be compared, so nothing was imported`);
  }
}

async function importOne(gallery: Gallery, partition: string, record: ExportRecord, modelId: string, dimension: number): Promise<string> {
  if (record.model_id !== modelId) return 'model_mismatch';
  try {
    assertSubjectId(record.subject_id);
  } catch {
    return 'invalid_subject_id';
  }
  if (!(TEMPLATE_SOURCES as readonly string[]).includes(record.source)) return 'invalid_source';
  const bytes = Buffer.from(record.template, 'base64');
  if (bytes.length !== dimension * 4) return 'invalid_template';
  const template = new Float32Array(dimension);
  Buffer.from(template.buffer).set(bytes);
  if (!template.every(Number.isFinite)) return 'invalid_template';
  await gallery.enrol(partition, record.subject_id, { template, modelId, quality: record.quality, source: record.source });
  return 'ok';
}

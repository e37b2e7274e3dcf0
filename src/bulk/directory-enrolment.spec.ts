import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listByCsv, listByFolder } from './directory-enrolment.ts';

describe('subject ids for a folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'enrol-dir-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('come from the top-level folder, or from the file name of a loose photo; other files are left out', () => {
    mkdirSync(join(dir, 'alice', 'old'), { recursive: true });
    for (const file of ['alice/1.jpg', 'alice/old/2.PNG', 'bob.jpeg', 'notes.txt', '.hidden.jpg']) writeFileSync(join(dir, file), '');
    expect(listByFolder(dir)).toEqual([
      { file: 'alice/1.jpg', subjectId: 'alice' },
      { file: 'alice/old/2.PNG', subjectId: 'alice' },
      { file: 'bob.jpeg', subjectId: 'bob' },
    ]);
  });

  it('come from a CSV mapping, quoted values included', () => {
    expect(listByCsv('subject_id,file\r\n"Smith, Jane",a/1.jpg\r\n"say ""hi""",b.jpg\r\n\r\n')).toEqual([
      { file: 'a/1.jpg', subjectId: 'Smith, Jane' },
      { file: 'b.jpg', subjectId: 'say "hi"' },
    ]);
    expect(() => listByCsv('path,id\nx.jpg,1\n')).toThrow('"file" and "subject_id" columns');
    expect(() => listByCsv('file,subject_id\nx.jpg\n')).toThrow('CSV row 2 has no file or no subject_id');
  });
});

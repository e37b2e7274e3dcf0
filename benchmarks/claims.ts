// Claims latency, over HTTP to a real server (its 2 pipeline workers), one client at a time: what an
// identity provider waits for at each step. A claim enrolment measures the photo (compliance) before the
// recognition pipeline runs, so it is compared with a plain /enrol of the same image; a live capture is
// compared with a plain /verify of the same image.
//   npm run bench:claims [-- --runs N]
import { parseArgs } from 'node:util';
import { fixture } from '../test/helpers/fixtures.ts';
import { jp2File } from '../test/helpers/jpeg2000.ts';
import { postMultipart, startTestServer } from '../test/helpers/test-server.ts';
import { documentPortrait, postClaimImage, postClaimJson } from '../test/claims/support.ts';
import { latency, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(args.runs);

const server = await startTestServer();
const timings: Record<string, number[]> = {};

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  (timings[name] ??= []).push(performance.now() - t0);
  return result;
}

async function expectOk(response: Response): Promise<any> {
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${response.url} answered ${response.status}: ${body}`);
  return body.startsWith('{') ? JSON.parse(body) : body;
}

try {
  const portraits = await Promise.all(['london_002', 'london_004', 'london_010', 'london_011'].map((id) => documentPortrait(server.url, `faces/${id}/1.jpg`, {})));
  const chips = await Promise.all(portraits.map((portrait) => jp2File(portrait, { width: 480 })));
  const live = ['london_002', 'london_004', 'london_010', 'london_011'].map((id) => fixture(`faces/${id}/2.jpg`));
  const json = (path: string, body: unknown) => postClaimJson(server.url, path, body).then(expectOk);

  const round = async (i: number, record: boolean) => {
    const step = <T>(name: string, work: () => Promise<T>) => (record ? timed(name, work) : work());
    const n = i % portraits.length;
    const user = `bench-${i}`;
    await step('plain /enrol, framed JPEG', () => postMultipart(server.url, '/api/v1/enrol', { image: portraits[n], metadata: { subject_id: `plain-${i}`, partition: 'bench' } }).then(expectOk));
    const enrol = await step('claim enrol/token', () => json('/api/v1/claim/enrol/token', { user_id: user, partition: 'bench', source: 'eid' }));
    await step('claim enrol/image, framed JPEG', () => postClaimImage(server.url, '/api/v1/claim/enrol/image', { token: enrol.token, image: portraits[n] }).then(expectOk));
    const chip = await json('/api/v1/claim/enrol/token', { user_id: `${user}-chip`, partition: 'bench', source: 'eid' });
    await step('claim enrol/image, JPEG 2000 chip (480 px wide)', () => postClaimImage(server.url, '/api/v1/claim/enrol/image', { token: chip.token, image: chips[n], type: 'image/jp2' }).then(expectOk));
    await step('plain /verify, live capture', () => postMultipart(server.url, '/api/v1/verify', { image: live[n], metadata: { subject_id: user, partition: 'bench' } }).then(expectOk));
    const verify = await step('claim verify/token', () => json('/api/v1/claim/verify/token', { user_id: user, partition: 'bench' }));
    await step('claim verify/image, live capture', () => postClaimImage(server.url, '/api/v1/claim/verify/image', { token: verify.token, image: live[n] }).then(expectOk));
    await step('claim verify/validate', () => json('/api/v1/claim/verify/validate', { token: verify.token, user_id: user }));
  };

  for (let i = 0; i < portraits.length; i++) await round(1000 + i, false); // warm-up
  for (let i = 0; i < runs; i++) await round(i, true);
} finally {
  await server.stop();
}

const results = {
  command: `npm run bench:claims -- --runs ${runs}`,
  images: 'London-set neutral photos (london_002, 004, 010, 011) cut to the ICAO frame, JPEG q92 (~100 KB, ~1000 px), and as 480 px wide JP2; live captures: the same people\'s second photos (1350 × 1350 JPEG)',
  http_one_client: Object.fromEntries(Object.entries(timings).map(([step, values]) => [step, latency(values)])),
};
console.table(results.http_one_client);
writeResults('claims', results);

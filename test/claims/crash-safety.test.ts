import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDataDir, startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { fixture } from '../helpers/fixtures.ts';
import { postClaimImage, postClaimJson } from './support.ts';

// The real server in a child process, SIGKILLed right after it acknowledged a live capture and
// restarted on the same data: every acknowledged capture's outcome must still be there to validate.

let scratch: ReturnType<typeof scratchDataDir>;
let server: ChildServer | undefined;

beforeAll(() => {
  scratch = scratchDataDir();
});

afterAll(async () => {
  await server?.kill();
  scratch?.remove();
});

async function call(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await postClaimJson(server!.url, path, body);
  return { status: response.status, body: await response.json() };
}

describe('claims across a SIGKILL', () => {
  it('loses no acknowledged outcome between the image post and validate', async () => {
    server = await startChildServer({ dataDir: scratch.dataDir });
    const enrol = await call('/api/v1/claim/enrol/token', { user_id: 'kill-test', source: 'selfie' });
    const enrolled = await postClaimImage(server.url, '/api/v1/claim/enrol/image', { token: enrol.body.token, image: fixture('faces/london_010/1.jpg') });
    expect(enrolled.status, await enrolled.clone().text()).toBe(200);

    // genuine and impostor captures alternate, so each outcome says which image it came from
    const captures = Array.from({ length: 6 }, (_, i) => ({ genuine: i % 2 === 0, image: fixture(i % 2 === 0 ? 'faces/london_010/2.jpg' : 'faces/london_004/2.jpg') }));
    const tokens: string[] = [];
    for (const _ of captures) tokens.push((await call('/api/v1/claim/verify/token', { user_id: 'kill-test' })).body.token);

    // all posted at once; the server is killed the moment the first answer arrives
    const victim = server;
    let killing: Promise<void> | undefined;
    const acknowledged = await Promise.all(
      captures.map(async ({ image }, i) => {
        try {
          const response = await postClaimImage(victim.url, '/api/v1/claim/verify/image', { token: tokens[i], image });
          const ok = response.status === 200 && (await response.json()).received === true;
          if (ok) killing ??= victim.kill();
          return ok;
        } catch {
          return false; // the connection died with the server: the answer was lost
        }
      }),
    );
    await killing;
    expect(acknowledged.filter(Boolean).length).toBeGreaterThanOrEqual(1);

    server = await startChildServer({ dataDir: scratch.dataDir });
    for (const [i, { genuine }] of captures.entries()) {
      const validated = await call('/api/v1/claim/verify/validate', { token: tokens[i], user_id: 'kill-test' });
      if (acknowledged[i]) {
        expect(validated.status, JSON.stringify(validated.body)).toBe(200);
        expect(validated.body.passed).toBe(genuine);
        expect(validated.body.failure_reason).toBe(genuine ? undefined : 'no_match');
      } else {
        // an unacknowledged capture may have been recorded or not, but never half
        expect([200, 409], JSON.stringify(validated.body)).toContain(validated.status);
        if (validated.status === 200) expect(validated.body.passed).toBe(genuine);
        else expect(validated.body.code).toBe('outcome_pending');
      }
    }
    await server.stop();
    server = undefined;
  }, 240_000);
});

import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService, OPERATIONS } from '../../src/security/auth.service.ts';
import { FIXTURES_DIR, fixture } from '../helpers/fixtures.ts';
import { postMultipart, startTestServer, type TestServer } from '../helpers/test-server.ts';

// Debian's chromium, installed by `npm test` (scripts/setup.mjs --with-browser)
const CHROMIUM = '/usr/bin/chromium';
/** screenshots for a person to look at; gitignored */
const SHOTS = resolve(PROJECT_ROOT, 'test-output', 'console');

let server: TestServer;
let keys: ApiKeyRepository;
let adminKey: string;
let searchOnlyKey: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer({ auth: { required: true } });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  const auth = new AuthService(keys, true);
  adminKey = auth.createKey({ name: 'console', operations: [...OPERATIONS], partitions: ['*'] }).key;
  searchOnlyKey = auth.createKey({ name: 'gate', operations: ['search'], partitions: ['*'] }).key;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  // a CSP violation or a script error shows up here
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  keys?.close();
  await server?.stop();
});

/** Waits for `selector` to appear, failing at once with the page's error box when that shows instead. */
async function shown(selector: string, timeout = 30_000): Promise<void> {
  await page.waitForSelector(`${selector}, #error:not([hidden])`, { timeout });
  if (await page.isVisible('#error')) throw new Error(`the page shows an error: ${await page.textContent('#error')}`);
}

async function useKey(key: string): Promise<void> {
  await page.fill('#api-key', key);
  await page.click('#key-form button[type=submit]');
}

describe('the console', () => {
  it('is served at /console/ with a same-origin-only content security policy', async () => {
    const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    for (const file of ['', 'try.html', 'passport.html', 'api.js', 'gallery.js', 'try.js', 'passport.js', 'console.css', 'specs.json']) {
      const response = await fetch(`${server.url}/console/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    }
    expect((await fetch(`${server.url}/console/..%2Fpackage.json`)).status).toBe(404);
  });

  it('Try it: draws the face found by /photo/check, enrols, searches and verifies', async () => {
    await page.goto(`${server.url}/console/try.html`);
    // no key yet: the server's refusal is shown as the server said it
    await page.setInputFiles('#file', join(FIXTURES_DIR, 'faces/london_001/1.jpg'));
    await expect.poll(() => page.textContent('#error')).toMatch(/^401: unauthorized — /);

    await useKey(adminKey);
    expect(await page.evaluate(() => [sessionStorage.getItem('faceserver.apiKey') !== null, localStorage.length])).toEqual([true, 0]);
    await page.setInputFiles('#file', join(FIXTURES_DIR, 'faces/london_001/1.jpg'));
    await shown('#checks tr');
    expect(await page.isHidden('#error')).toBe(true);
    // the box drawn is the box the API found: its left edge is green at mid-height
    const check = (await (await postMultipart(server.url, '/api/v1/photo/check', { image: fixture('faces/london_001/1.jpg'), metadata: { profile: 'icao' } }, { Authorization: `Bearer ${adminKey}` })).json()) as {
      face: { box: { x1: number; y1: number; x2: number; y2: number } };
      checks: unknown[];
    };
    expect(await page.locator('#checks tr').count()).toBe(check.checks.length);
    const { x1, y1, y2 } = check.face.box;
    const pixel = await page.evaluate(
      ([x, y]) => Array.from((document.querySelector('#preview') as HTMLCanvasElement).getContext('2d')!.getImageData(x, y, 1, 1).data),
      [Math.round(x1), Math.round((y1 + y2) / 2)],
    );
    expect(pixel.slice(0, 3)).toEqual([0, 230, 118]);
    expect(await page.textContent('#face-summary')).toMatch(/^face \d+×\d+ px, detector score/);

    await page.fill('#subject-partition', 'console');
    await page.fill('#subject-id', 'alice');
    await page.click('#enrol');
    await expect.poll(() => page.textContent('#subject-result')).toMatch(/^enrolled alice, quality /);

    await page.setInputFiles('#file', join(FIXTURES_DIR, 'faces/london_001/2.jpg'));
    await shown('#checks tr');
    await page.fill('#search-partition', 'console');
    await page.click('#search-form button[type=submit]');
    await shown('#candidates tr');
    const first = await page.locator('#candidates tr').first().locator('td').allTextContents();
    expect(first[0]).toBe('1');
    expect(first[1]).toBe('alice');
    expect(Number(first[2])).toBeGreaterThanOrEqual(0.45);
    expect(first[3]).toBe('≥ 0.45');

    await page.click('#verify-form button[type=submit]');
    await expect.poll(() => page.textContent('#subject-result')).toMatch(/^match: score 0\.\d{4} for alice$/);

    // another person is not alice
    await page.setInputFiles('#file', join(FIXTURES_DIR, 'faces/london_002/1.jpg'));
    await shown('#checks tr');
    await page.click('#verify-form button[type=submit]');
    await expect.poll(() => page.textContent('#subject-result')).toMatch(/^no match: score /);
    await page.screenshot({ path: join(SHOTS, 'try.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('Gallery: partitions, the subject with its template, health, audit rows, and delete after confirmation', async () => {
    await page.goto(`${server.url}/console/`);
    await useKey(adminKey);
    await shown('[data-partition="console"]');
    await page.click('[data-partition="console"]');
    await shown('[data-subject="alice"]');
    expect(await page.locator('#partitions tr.selected td').allTextContents()).toEqual(['console', '1']);
    expect(await page.textContent('#page-info')).toBe('page 1 of 1 · 1 subjects');
    expect(await page.textContent('#health-status')).toBe('healthy');
    expect(await page.locator('#stages tr').count()).toBeGreaterThan(0);
    await page.click('[data-subject="alice"]');
    await shown('#templates tr');
    const template = await page.locator('#templates tr td').allTextContents();
    expect(template[1]).toBe('enrol');
    expect(Number(template[2])).toBeGreaterThan(0);
    // the latest rows, newest first: the no-match verify, the match, the search hit, the enrolment (photo checks between them)
    const operations = await page.locator('#audit tr').evaluateAll((rows) => rows.map((tr) => [tr.children[1].textContent, tr.children[6].textContent]));
    expect(operations.filter(([operation]) => operation !== 'check').slice(0, 4)).toEqual([
      ['verify', 'no_match'],
      ['verify', 'match'],
      ['search', 'hit'],
      ['enrol', 'enrolled'],
    ]);
    await page.screenshot({ path: join(SHOTS, 'gallery.png'), fullPage: true });

    // dismissing the confirmation keeps the subject; accepting it deletes
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.click('#delete-subject');
    expect(await page.isVisible('#subject-panel')).toBe(true);
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#delete-subject');
    await page.waitForSelector('#subject-panel', { state: 'hidden' });
    await expect.poll(() => page.locator('#subjects tr').count()).toBe(0);
    const gone = await fetch(`${server.url}/api/v1/subjects/console/alice`, { headers: { Authorization: `Bearer ${adminKey}` } });
    expect(gone.status).toBe(404);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('Passport photo: analyzes, generates with the spec, draws the bands, changes layout and background, downloads', async () => {
    await page.goto(`${server.url}/console/passport.html`);
    await useKey(adminKey);
    await expect.poll(() => page.locator('#spec option').count()).toBeGreaterThan(100);
    expect(await page.inputValue('#spec')).toBe('us-passport');
    await page.setInputFiles('#file', join(FIXTURES_DIR, 'faces/london_001/1.jpg'));
    // analyze runs the segmentation network: seconds on a busy machine
    await shown('#measured tr', 150_000);
    expect(await page.textContent('#analysis')).toBe('1350 × 1350 px photo, face found');
    expect(await page.textContent('#result-summary')).toMatch(/^US Passport: 50\.8 × 50\.8 mm, 600 × 600 px at 300 dpi/);
    const measures = await page.locator('#measured tr').evaluateAll((rows) => rows.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(measures.map(([name, allowed, , inside]) => [name, allowed, inside])).toEqual([
      ['head height (chin to crown)', '25.4–34.9 mm', 'yes'],
      ['eye line from the bottom', '28.6–34.9 mm', 'yes'],
    ]);
    // the eye band is drawn 28.6–34.9 mm from the bottom of the 50.8 mm frame: tinted green at its middle, not at the very top
    const tint = await page.evaluate(() => {
      const canvas = document.querySelector('#result') as HTMLCanvasElement;
      const g = canvas.getContext('2d')!;
      const y = Math.round(canvas.height * (1 - (28.6 + 34.9) / 2 / 50.8));
      return [canvas.width, Array.from(g.getImageData(2, y, 1, 1).data), Array.from(g.getImageData(2, 1, 1, 1).data)];
    });
    expect(tint[0]).toBe(600);
    const [, band, top] = tint as [number, number[], number[]];
    expect(band[1] - band[0]).toBeGreaterThan(top[1] - top[0] + 20);

    // GB forbids editing the background: only "keep" is offered
    await page.selectOption('#spec', 'gb-passport');
    expect(await page.locator('#background option:not([disabled])').allTextContents()).toEqual(["keep the photo's"]);
    await page.selectOption('#layout', '4x6');
    await page.fill('#zoom', '1.1');
    await page.click('#generate');
    await expect.poll(() => page.textContent('#result-summary'), { timeout: 60_000 }).toMatch(/^UK Passport|^GB|35 × 45 mm/);
    await expect.poll(() => page.locator('#downloads button').count()).toBe(2);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#downloads button >> nth=0')]);
    const saved = join(SHOTS, download.suggestedFilename());
    await download.saveAs(saved);
    expect(readFileSync(saved).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    await page.screenshot({ path: join(SHOTS, 'passport.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('shows a refusal for a key without the admin scope as the server words it', async () => {
    const direct = (await (await fetch(`${server.url}/api/v1/stats`, { headers: { Authorization: `Bearer ${searchOnlyKey}` } })).json()) as { code: string; message: string };
    await page.goto(`${server.url}/console/`);
    await useKey(searchOnlyKey);
    await expect.poll(() => page.textContent('#error')).toBe(`403: ${direct.code} — ${direct.message}`);
  }, 60_000);
});

import sharp from 'sharp';
import type { FaceSummary } from '../../src/compliance/measures/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { decodeRaw, encodeJpeg, icaoFrame } from '../helpers/photo-variants.ts';
import { postMultipart } from '../helpers/test-server.ts';

export type Headers = Record<string, string>;

/** What the server's photo check finds in a photo: where the face is and every measure. */
async function photoCheck(baseUrl: string, photo: Buffer, headers: Headers): Promise<{ face: FaceSummary; measurements: Record<string, { value: number }> }> {
  return (await postMultipart(baseUrl, '/api/v1/photo/check', { image: photo }, headers)).json();
}

/** A London-set neutral photo cut to the ICAO frame round the face the server finds in it: a document portrait. */
export async function documentPortrait(baseUrl: string, file: string, headers: Headers): Promise<Buffer> {
  const bytes = fixture(file);
  const { face } = await photoCheck(baseUrl, bytes, headers);
  return encodeJpeg(await icaoFrame(await decodeRaw(bytes), face));
}

/** The photo scaled so its eye centres are `interEye` pixels apart, as the server measures them. */
export async function withInterEye(baseUrl: string, photo: Buffer, interEye: number, headers: Headers): Promise<Buffer> {
  const measured = (await photoCheck(baseUrl, photo, headers)).measurements.inter_eye_px.value;
  const { width = 0 } = await sharp(photo).metadata();
  return sharp(photo).resize(Math.round((width * interEye) / measured)).jpeg({ quality: 92 }).toBuffer();
}

/** Two document portraits side by side: a photo of two people. */
export async function sideBySide(left: Buffer, right: Buffer): Promise<Buffer> {
  const { width: leftWidth = 0, height = 0 } = await sharp(left).metadata();
  const scaled = await sharp(right).resize({ height }).toBuffer();
  const { width: rightWidth = 0 } = await sharp(scaled).metadata();
  return sharp({ create: { width: leftWidth + rightWidth, height, channels: 3, background: '#ffffff' } })
    .composite([{ input: left, left: 0, top: 0 }, { input: scaled, left: leftWidth, top: 0 }])
    .jpeg({ quality: 92 })
    .toBuffer();
}

export async function postClaimJson(baseUrl: string, path: string, body: unknown, headers: Headers = {}): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export interface ClaimImage {
  token: string;
  image: Buffer;
  source?: string;
  type?: string;
  name?: string;
}

export async function postClaimImage(baseUrl: string, path: string, { token, image, source, type = 'image/jpeg', name = 'image.jpg' }: ClaimImage, headers: Headers = {}): Promise<Response> {
  const form = new FormData();
  form.append('token', token);
  if (source !== undefined) form.append('source', source);
  form.append('image', new Blob([new Uint8Array(image)], { type }), name);
  return fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: form });
}

import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';

/** The shared fixtures sit beside the repository; they are read in place, never copied in. */
export const FIXTURES_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures');

export function fixture(relativePath: string): Buffer {
  return readFileSync(resolve(FIXTURES_DIR, relativePath));
}

/**
 * A tilted head rather than a tilted print: the photo turned by `degrees`, then cut to the largest
 * centred square inside it, so no filled corners frame the face (PAD rightly takes such a frame for
 * the edge of a print).
 */
export async function tiltedHead(bytes: Uint8Array, degrees: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const turned = await sharp(bytes).rotate(degrees).toBuffer({ resolveWithObject: true });
  const radians = (Math.abs(degrees) * Math.PI) / 180;
  const side = Math.floor(Math.min(width, height) / (Math.cos(radians) + Math.sin(radians)));
  const left = Math.floor((turned.info.width - side) / 2);
  const top = Math.floor((turned.info.height - side) / 2);
  return sharp(turned.data).extract({ left, top, width: side, height: side }).jpeg({ quality: 92 }).toBuffer();
}

// JPEG 2000 test images made from the fixtures: no JPEG 2000 file ships with them, and an e-passport
// chip image is one. OpenJPEG's encoder (the same package's WebAssembly build) writes the codestream;
// the JP2 boxes around it are written here, as ISO/IEC 15444-1 annex I lays them out.
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { jpeg2000Size } from '../../src/pipeline/jpeg2000.ts';

interface J2KEncoder {
  getDecodedBuffer(frame: { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean; isUsingColorTransform: boolean }): Uint8Array;
  setQuality(lossless: boolean, quality: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}

const factory = createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg/wasmjs') as (o: object) => Promise<{ J2KEncoder: new () => J2KEncoder }>;
const encoderModule = factory({ print: () => undefined, printErr: () => undefined });

/** A bare J2K codestream of an image (grey when `grey`), lossy. */
export async function j2kCodestream(image: Buffer, { grey = false, width }: { grey?: boolean; width?: number } = {}): Promise<Buffer> {
  let pipeline = sharp(image).rotate();
  if (width) pipeline = pipeline.resize(width);
  if (grey) pipeline = pipeline.grayscale();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const { J2KEncoder } = await encoderModule;
  const encoder = new J2KEncoder();
  try {
    encoder.getDecodedBuffer({ width: info.width, height: info.height, bitsPerSample: 8, componentCount: info.channels, isSigned: false, isUsingColorTransform: info.channels === 3 }).set(data);
    encoder.setQuality(false, 0.05);
    encoder.encode();
    return Buffer.from(encoder.getEncodedBuffer());
  } finally {
    encoder.delete();
  }
}

function box(type: string, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

/** A JP2 file: signature, file type, header (size and colour space) and the codestream box. */
export async function jp2File(image: Buffer, options: { grey?: boolean; width?: number } = {}): Promise<Buffer> {
  const codestream = await j2kCodestream(image, options);
  const { width, height } = jpeg2000Size(codestream);
  const components = codestream.readUInt16BE(40);
  const ihdr = Buffer.alloc(14);
  ihdr.writeUInt32BE(height, 0);
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt16BE(components, 8);
  ihdr.writeUInt8(7, 10); // 8-bit unsigned samples
  ihdr.writeUInt8(7, 11); // compression type: JPEG 2000
  const colr = Buffer.alloc(7);
  colr.writeUInt8(1, 0); // enumerated colour space
  colr.writeUInt32BE(options.grey ? 17 : 16, 3); // greyscale : sRGB
  return Buffer.concat([
    box('jP  ', Buffer.from([0x0d, 0x0a, 0x87, 0x0a])),
    box('ftyp', Buffer.from('jp2 \u0000\u0000\u0000\u0000jp2 ', 'latin1')),
    box('jp2h', box('ihdr', ihdr), box('colr', colr)),
    box('jp2c', codestream),
  ]);
}

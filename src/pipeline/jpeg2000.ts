import { createRequire } from 'node:module';
import { startsWith } from './magic-bytes.ts';

// sharp's prebuilt libvips has no JPEG 2000 loader, and e-passport chip images are JPEG 2000, so the
// codestream is decoded here by OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg, MIT).
// The decoded samples then go through sharp like any other image.

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
}

interface OpenJpegModule {
  J2KDecoder: new () => J2KDecoder;
}

type OpenJpegFactory = (overrides: { print: (text: string) => void; printErr: (text: string) => void }) => Promise<OpenJpegModule>;

let openJpeg: Promise<OpenJpegModule> | undefined;

/** One WebAssembly instance per thread, made on first use; OpenJPEG's progress chatter is dropped. */
function module(): Promise<OpenJpegModule> {
  openJpeg ??= (createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg/decodewasmjs') as OpenJpegFactory)({ print: () => undefined, printErr: () => undefined });
  return openJpeg;
}

const JP2_SIGNATURE = [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];
const CODESTREAM_START = [0xff, 0x4f, 0xff, 0x51];

export const isJpeg2000 = (bytes: Uint8Array) => startsWith(bytes, JP2_SIGNATURE) || startsWith(bytes, CODESTREAM_START);

/**
 * The J2K codestream of a JP2 file (its `jp2c` box), or the bytes themselves when they are a bare
 * codestream. Box lengths are checked against the file, so a truncated file fails here.
 */
export function codestreamOf(bytes: Uint8Array): Uint8Array {
  if (startsWith(bytes, CODESTREAM_START)) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    let header = 8;
    if (length === 1) {
      // XLBox: a 64-bit length follows the type
      if (offset + 16 > bytes.length) break;
      length = Number(view.getBigUint64(offset + 8));
      header = 16;
    } else if (length === 0) {
      length = bytes.length - offset; // the last box runs to the end of the file
    }
    if (length < header || offset + length > bytes.length) throw new Error(`JP2 box "${type}" is longer than the file`);
    if (type === 'jp2c') return bytes.subarray(offset + header, offset + length);
    offset += length;
  }
  throw new Error('the JP2 file holds no codestream (jp2c box)');
}

/**
 * Width and height from the codestream's SIZ marker: read before anything is decoded. A codestream
 * must also end with its EOC marker: JPEG 2000 is progressive, so OpenJPEG would otherwise decode a
 * truncated file to a blurred picture without complaint.
 */
export function jpeg2000Size(codestream: Uint8Array): { width: number; height: number } {
  if (codestream.length < 24 || !startsWith(codestream, CODESTREAM_START)) throw new Error('the codestream does not start with SOC and SIZ markers');
  if (codestream[codestream.length - 2] !== 0xff || codestream[codestream.length - 1] !== 0xd9) throw new Error('the codestream is truncated (no EOC marker at its end)');
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  // SIZ: Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4), after the four marker bytes
  const width = view.getUint32(8) - view.getUint32(16);
  const height = view.getUint32(12) - view.getUint32(20);
  if (width <= 0 || height <= 0) throw new Error('the SIZ marker gives no image area');
  return { width, height };
}

export interface DecodedSamples {
  /** interleaved 8-bit samples */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA) */
  channels: 1 | 3 | 4;
}

/** Decodes a codestream to interleaved 8-bit samples; deeper samples are scaled down to 8 bits. */
export async function decodeJpeg2000(codestream: Uint8Array): Promise<DecodedSamples> {
  const { J2KDecoder } = await module();
  const decoder = new J2KDecoder();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    const { width, height, bitsPerSample, componentCount, isSigned } = decoder.getFrameInfo();
    if (componentCount !== 1 && componentCount !== 3 && componentCount !== 4) throw new Error(`${componentCount} colour components are not supported`);
    if (isSigned) throw new Error('signed samples are not supported');
    const decoded = decoder.getDecodedBuffer();
    const samples = width * height * componentCount;
    if (bitsPerSample <= 8) return { data: decoded.slice(0, samples), width, height, channels: componentCount };
    // 9–16 bit samples arrive as little-endian 16-bit words
    const words = new Uint16Array(decoded.buffer, decoded.byteOffset, samples);
    const shift = bitsPerSample - 8;
    const data = new Uint8Array(samples);
    for (let i = 0; i < samples; i++) data[i] = words[i] >> shift;
    return { data, width, height, channels: componentCount };
  } finally {
    decoder.delete();
  }
}

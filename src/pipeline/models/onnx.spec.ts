import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config/config.ts';
import { imageInput, openSession, runModel, sessionOptions } from './onnx.ts';

describe('sessionOptions', () => {
  it('keeps ONNX Runtime’s per-session CPU arena and memory pattern off (bench:soak: the arenas held ~90 MiB that never came back)', () => {
    expect(sessionOptions(1)).toMatchObject({ enableCpuMemArena: false, enableMemPattern: false, intraOpNumThreads: 1, interOpNumThreads: 1 });
  });

  it('a session without the arena gives each run its own result, whatever ran between', async () => {
    const session = await openSession(resolve(PROJECT_ROOT, 'models', 'fr_feature.onnx'), 1);
    const input = imageInput(session);
    const size = input.shape.reduce((a, b) => a * b, 1);
    const first = Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 0.5);
    const second = Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.37) * 0.5);
    const outputOf = async (data: Float32Array) => Object.values(await runModel(session, input, data))[0];
    const a = await outputOf(first);
    const b = await outputOf(second);
    const again = await outputOf(first);
    expect(again).toEqual(a);
    expect(b).not.toEqual(a);
    expect(a.every(Number.isFinite)).toBe(true);
  });
});

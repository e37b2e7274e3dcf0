import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedLock', () => {
  it('runs the sections of one key one at a time, in arrival order, and of different keys together', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const section = (name: string) => async () => {
      events.push(`${name} start`);
      await turn();
      await turn();
      events.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([lock.run('a', section('a1')), lock.run('a', section('a2')), lock.run('b', section('b1'))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(events.indexOf('a1 end')).toBeLessThan(events.indexOf('a2 start'));
    // b1 did not wait for a1
    expect(events.indexOf('b1 start')).toBeLessThan(events.indexOf('a1 end'));
  });

  it('releases the key when a section throws', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('a', async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(await lock.run('a', async () => 'next')).toBe('next');
  });
});

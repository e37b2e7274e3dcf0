/**
 * Runs async sections one at a time per key, in arrival order; sections under different keys run
 * concurrently. Used where a read and the write it decides must see no write in between, now that
 * gallery calls await.
 */
export class KeyedLock {
  /** the tail of each key's queue: resolves when the last section queued under it has finished */
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      // The last in the queue removes the key, so the map holds only keys with sections pending.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

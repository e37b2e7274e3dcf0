/**
 * How a store answers: the embedded stores synchronously (better-sqlite3 is synchronous, and tools and
 * tests use them so), the PostgreSQL ones with promises. Services over such a store are generic in it
 * and answer the same way: synchronously over SQLite, with promises over PostgreSQL.
 */
export type StoreMode = 'sync' | 'async';
export type Answer<Mode extends StoreMode, T> = Mode extends 'sync' ? T : Promise<T>;

/**
 * `next(value)` now when the store answered synchronously, after it resolves when it answered with a
 * promise; a synchronous store's errors are thrown, a promise's become its rejection. (Not named
 * `then`: a module exporting `then` is thenable, and `await import()` of it would call it.)
 */
export function whenAnswered<Mode extends StoreMode, T, U>(value: Answer<Mode, T> | T | Promise<T>, next: (value: T) => U | Answer<Mode, U>): Answer<Mode, U> {
  return (value instanceof Promise ? value.then(next) : next(value as T)) as Answer<Mode, U>;
}

/** A value computed without the store, answered as the store would. */
export function settled<Mode extends StoreMode, T>(value: T): Answer<Mode, T> {
  return value as Answer<Mode, T>;
}

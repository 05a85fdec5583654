// better-sqlite3 is synchronous; kubegate's store interfaces are async, as a remote store's are
// (PostgreSQL). settle() runs one synchronous call as a promise, so a throw becomes a rejection
// and callers handle one kind of failure whichever store is behind the interface.

// eslint-disable-next-line @typescript-eslint/require-await -- async turns a throw into a rejection
export async function settle<T>(call: () => T): Promise<T> {
  return call();
}

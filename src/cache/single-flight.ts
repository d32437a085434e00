/** Concurrent callers for one key share the first caller's promise until it settles. */
export interface SingleFlight<T> {
  run(key: string, work: () => Promise<T>): { promise: Promise<T>; joined: boolean };
  has(key: string): boolean;
  /** Promises still running (close() waits for background work). */
  pending(): Promise<T>[];
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const flights = new Map<string, Promise<T>>();
  return {
    run(key, work) {
      const running = flights.get(key);
      if (running) return { promise: running, joined: true };
      const promise = (async () => {
        try {
          return await work();
        } finally {
          flights.delete(key);
        }
      })();
      flights.set(key, promise);
      return { promise, joined: false };
    },
    has: (key) => flights.has(key),
    pending: () => [...flights.values()],
  };
}

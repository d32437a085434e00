import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeInvalidation } from './invalidation.ts';
import type { KeySpace } from './key-space.ts';

/**
 * The pod's one pub/sub connection: invalidations (drop near copies at once) and fill
 * notifications (wake readers waiting for another pod's fill instead of polling blindly).
 */
export interface CacheSubscriber {
  /** Resolves when a fill of entryKey is announced or after ms, whichever comes first. */
  waitForFill(entryKey: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

export function createCacheSubscriber(options: {
  redis: Redis;
  keys: KeySpace;
  onInvalidate: (tags: string[]) => void;
  log: Logger;
}): CacheSubscriber {
  const { keys, onInvalidate, log } = options;
  // A subscriber may queue its SUBSCRIBE until connected (and ioredis re-subscribes after a
  // reconnect); it carries no request-path commands, so no command timeout either.
  const subscriber = options.redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    connectionName: 'catalog-cache-subscriber',
  });
  let lastError = '';
  subscriber.on('error', (error: Error) => {
    if (error.message !== lastError) log.warn({ err: error }, 'cache subscriber connection error');
    lastError = error.message;
  });
  subscriber.on('ready', () => {
    lastError = '';
  });

  const waiters = new Map<string, Set<() => void>>();
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.fillChannel) {
      const wake = waiters.get(message);
      if (wake) for (const resolve of [...wake]) resolve();
    } else if (channel === keys.invalidationChannel) {
      const tags = decodeInvalidation(message);
      if (tags.length > 0) onInvalidate(tags);
    }
  });
  subscriber.subscribe(keys.invalidationChannel, keys.fillChannel).catch((error: unknown) => {
    log.warn({ err: error }, 'cache subscriber could not subscribe');
  });

  let closed = false;
  return {
    waitForFill(entryKey, ms) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let set = waiters.get(entryKey);
        if (!set) waiters.set(entryKey, (set = new Set()));
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0 && waiters.get(entryKey) === set) waiters.delete(entryKey);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        set.add(done);
      });
    },
    async close() {
      closed = true;
      for (const set of [...waiters.values()]) for (const done of [...set]) done();
      subscriber.removeAllListeners('message');
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}

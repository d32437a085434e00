import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeInvalidation } from './invalidator.ts';
import type { KeySpace } from './key-space.ts';

/**
 * The pod's one pub/sub connection: invalidations (drop near copies at once) and fill
 * notifications (wake readers waiting for another pod's fill instead of polling blindly). Each key
 * has its own fill channel, subscribed only while a reader here waits for it: refreshes fill
 * thousands of keys a second that nobody waits for, and those messages reach no pod.
 */
export interface CacheSubscriber {
  /** Resolves when a fill of the cache key is announced or after ms, whichever comes first. */
  waitForFill(key: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

export function createCacheSubscriber(options: {
  redis: Redis;
  keys: KeySpace;
  onInvalidate: (tags: string[]) => void;
  /**
   * Subscribed again after the connection was lost (a Redis restart, a Sentinel failover): the
   * invalidations published meanwhile reached no one here, so copies kept near are suspect.
   */
  onResubscribed?: () => void;
  log: Logger;
}): CacheSubscriber {
  const { keys, onInvalidate, onResubscribed, log } = options;
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
  const subscribeFailed = (error: unknown): void => log.warn({ err: error }, 'cache subscriber could not subscribe');
  let readyBefore = false;
  subscriber.on('ready', () => {
    lastError = '';
    if (!readyBefore) {
      readyBefore = true;
      return;
    }
    // ioredis re-sends the SUBSCRIBEs right after 'ready'; this one is answered after them, once
    // messages reach this pod again. Dropping near copies then leaves none from before the gap.
    subscriber
      .subscribe(keys.invalidationChannel)
      .then(() => {
        log.info('cache subscriber subscribed again; near copies dropped');
        onResubscribed?.();
      })
      .catch(subscribeFailed);
  });

  // Waiters by fill channel. Commands on one connection run in order, so an UNSUBSCRIBE followed by
  // a SUBSCRIBE for the next waiter leaves the channel subscribed.
  const waiters = new Map<string, Set<() => void>>();
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.invalidationChannel) {
      const tags = decodeInvalidation(message);
      if (tags.length > 0) onInvalidate(tags);
      return;
    }
    const wake = waiters.get(channel);
    if (wake) for (const resolve of [...wake]) resolve();
  });
  subscriber.subscribe(keys.invalidationChannel).catch(subscribeFailed);

  let closed = false;
  return {
    waitForFill(key, ms) {
      if (closed) return Promise.resolve();
      const channel = keys.fillChannel(key);
      return new Promise<void>((resolve) => {
        let set = waiters.get(channel);
        if (!set) {
          waiters.set(channel, (set = new Set()));
          subscriber.subscribe(channel).catch(subscribeFailed);
        }
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0 && waiters.get(channel) === set) {
            waiters.delete(channel);
            if (!closed) subscriber.unsubscribe(channel).catch(() => undefined);
          }
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

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { observeBreaker } from '../observability/breaker-metrics.ts';
import type { CacheMetrics } from './cache-metrics.ts';
import { createCacheSubscriber } from './cache-subscriber.ts';
import type { CacheRead } from './cached-response.ts';
import type { FreshnessPolicy } from './freshness.ts';
import type { KeySpace } from './key-space.ts';
import type { NearTier } from './near-tier.ts';
import { createEntryStore, generationsMatch } from './redis-entry.ts';
import type { RedisLookup, StoredEntry } from './redis-entry.ts';
import { createRedisGuard } from './redis-guard.ts';
import type { RedisBreakerOptions, RedisGuard } from './redis-guard.ts';

/** A Redis lookup, and whether an invalidation of its tags landed while it ran. */
export type Found = RedisLookup & { tainted: boolean };

/**
 * Redis as the read path sees it: lookups, judged against the tags' current generations and the
 * freshness policy; compare-and-set fills; the pod's subscriber (invalidations drop near copies,
 * fill announcements wake waiters). Every call goes through one guard (timeout and breaker) and
 * none throws: a failed call counts as an error metric and reads fall back to the origin.
 */
export interface SharedTier {
  readonly guard: RedisGuard;
  /** Connected, breaker not open, not closed: worth asking Redis at all. */
  usable(): boolean;
  /** The entry and its tags' generations; null when Redis is unusable or failed. A `recheck` (nobody waits) is gathered with others. */
  lookup(key: string, tags: readonly string[], recheck?: boolean): Promise<Found | null>;
  /** A read to return (seeding the near tier unless tainted), or null when the key must be (re)filled. */
  judge(key: string, tags: readonly string[], found: Found, acceptStale: boolean): CacheRead | null;
  /** Compare-and-set write; `unlock` is called once the write is sent, so a lock release rides in its round trip. */
  store(key: string, entry: StoredEntry, ttlMs: number, unlock?: () => unknown): Promise<void>;
  /** Resolves when a fill of key is announced, or after ms. */
  waitForFill(key: string, ms: number): Promise<void>;
  failed(operation: string, error: unknown): void;
  /** Stops using Redis and closes the subscriber; running work may finish without it. */
  close(): Promise<void>;
  /** After running work finished: stops the breaker and its metrics. */
  shutdown(): void;
}

export interface SharedTierOptions {
  redis: Redis;
  keys: KeySpace;
  commandTimeoutMs: number;
  redisBreaker?: RedisBreakerOptions;
  near: NearTier;
  policy: FreshnessPolicy;
  metrics: CacheMetrics;
  registry: Registry;
  log: Logger;
  now: () => number;
}

export function createSharedTier(options: SharedTierOptions): SharedTier {
  const { redis, keys, near, policy, metrics, log, now } = options;
  const guard = createRedisGuard(redis, options.commandTimeoutMs, options.redisBreaker);
  const entries = createEntryStore(redis, keys, guard);
  const subscriber = createCacheSubscriber({
    redis,
    keys,
    log,
    onInvalidate: (tags) => near.drop(tags, 'pubsub'),
    onResubscribed: () => near.dropAll(),
  });
  const unobserveBreaker = observeBreaker(guard.breaker, 'redis', options.registry);
  let closed = false;

  const usable = (): boolean => !closed && guard.usable();
  const failed = (operation: string, error: unknown): void => {
    metrics.redisErrors.inc({ operation });
    log.debug({ err: error, operation }, 'redis call failed; serving without it');
  };

  return {
    guard,
    usable,
    failed,
    async lookup(key, tags, recheck = false) {
      if (!usable()) return null;
      const flight = near.watch(tags);
      try {
        // The store runs each pipeline of lookups through the guard (one breaker call per round trip).
        const found = await (recheck ? entries.recheck(key, tags) : entries.get(key, tags));
        return { ...found, tainted: flight.tainted };
      } catch (error) {
        failed('get', error);
        return null;
      } finally {
        near.unwatch(flight);
      }
    },
    judge(key, tags, found, acceptStale) {
      const { entry } = found;
      if (!entry || !generationsMatch(entry, tags, found.generations)) return null;
      const at = now();
      const state = policy.classify(entry.response, at);
      if (state === 'expired' || (state === 'stale' && !acceptStale)) return null;
      // A read that raced an invalidation may still be answered, but must not seed the near tier.
      if (!found.tainted) near.put(key, entry.response, at);
      return { response: entry.response, tier: 'redis', stale: state === 'stale' };
    },
    async store(key, entry, ttlMs, unlock) {
      try {
        const writing = guard.run(() => entries.write(key, entry, ttlMs));
        unlock?.();
        if (!(await writing)) metrics.fillConflicts.inc();
      } catch (error) {
        failed('write', error);
      }
    },
    waitForFill: (key, ms) => subscriber.waitForFill(key, ms),
    async close() {
      closed = true;
      await subscriber.close();
    },
    shutdown() {
      unobserveBreaker();
      guard.shutdown();
    },
  };
}

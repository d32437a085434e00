import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CacheMetrics } from './cache-metrics.ts';
import type { CachedResponse, CacheRead } from './cached-response.ts';
import { createFillLock } from './fill-lock.ts';
import type { LockAttempt } from './fill-lock.ts';
import type { KeySpace } from './key-space.ts';
import type { InSlot } from './refresh-queue.ts';
import type { SharedTier } from './shared-tier.ts';

/**
 * Loads from the origin and stores the result with the tags' generations read before the load
 * (null: not provably current, so kept out of Redis); `unlock`, when given, releases the fill lock
 * as soon as the write is sent.
 */
export type FillLoad = (generations: number[] | null, unlock?: () => unknown) => Promise<CacheRead>;

/**
 * One origin load per key for the whole fleet. A reader that must fill takes a Redlock lock; the
 * holder loads and fills, the others wait for the fill (woken by the fill's pub/sub message,
 * polling with backoff as a fallback) and retry the lock between checks, so a holder that died
 * blocks them no longer than the lock TTL.
 */
export interface FleetFill {
  /** A read that cannot be answered from Redis: the lock holder loads, the others get its fill. */
  fill(key: string, tags: readonly string[], generations: number[], load: FillLoad): Promise<CacheRead>;
  /**
   * A background refresh of `copy`, one per key across the fleet: if another pod holds the lock it
   * is the one refreshing; an entry newer than the copy is adopted; otherwise it loads in a slot.
   */
  refresh(key: string, tags: readonly string[], copy: CachedResponse, inSlot: InSlot, load: FillLoad): Promise<unknown>;
}

export interface FleetFillOptions {
  redis: Redis;
  keys: KeySpace;
  shared: SharedTier;
  lockTtlMs: number;
  metrics: CacheMetrics;
  log: Logger;
  now: () => number;
}

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/** How long a reader waits for another pod's fill before loading anyway (close() waits as long for running loads). */
export function fillWaitMs(lockTtlMs: number): number {
  return lockTtlMs + 1_000;
}

export function createFleetFill(options: FleetFillOptions): FleetFill {
  const { keys, shared, metrics, log, now } = options;
  const lock = createFillLock(options.redis, options.lockTtlMs);
  const waitMs = fillWaitMs(options.lockTtlMs);

  /** The attempt, or null when Redis cannot be asked (the caller loads without the lock). */
  async function tryLock(key: string): Promise<LockAttempt | null> {
    if (!shared.usable()) return null;
    try {
      const attempt = await shared.guard.run(() => lock.tryAcquire(keys.lock(key)));
      metrics.lockAcquisitions.inc({ result: attempt.state });
      if (attempt.state === 'busy') return attempt;
      let released: Promise<void> | null = null;
      // Idempotent: callers release early (with the fill) and again in their `finally`.
      const release = (): Promise<void> =>
        (released ??= shared.guard.run(() => attempt.release()).catch((error: unknown) => shared.failed('unlock', error)));
      return { state: 'acquired', release };
    } catch (error) {
      metrics.lockAcquisitions.inc({ result: 'error' });
      shared.failed('lock', error);
      return null;
    }
  }

  async function fill(key: string, tags: readonly string[], generations: number[], load: FillLoad): Promise<CacheRead> {
    const deadline = now() + waitMs;
    let delay = FIRST_POLL_MS;
    let waited = false;
    let current = generations;
    for (;;) {
      const attempt = await tryLock(key);
      if (attempt === null) return load(current);
      if (attempt.state === 'acquired') {
        try {
          // Someone may have filled between our lookup and the lock: never load twice.
          const found = await shared.lookup(key, tags);
          if (found) {
            const served = shared.judge(key, tags, found, true);
            if (served) return served;
            current = found.generations;
          }
          return await load(found ? current : null, attempt.release);
        } finally {
          void attempt.release();
        }
      }
      if (!waited) {
        waited = true;
        metrics.singleFlightWaits.inc({ scope: 'fleet' });
      }
      const remaining = deadline - now();
      if (remaining <= 0) {
        // A live holder is taking too long: load without the lock (one per pod, still single-flighted here).
        metrics.lockWaitTimeouts.inc();
        log.warn({ key }, 'gave up waiting for another pod to fill; loading');
        return load(current);
      }
      await shared.waitForFill(key, Math.min(delay, remaining));
      delay = Math.min(delay * 2, MAX_POLL_MS);
      const found = await shared.lookup(key, tags);
      if (!found) return load(current);
      const served = shared.judge(key, tags, found, true);
      if (served) return served;
      current = found.generations;
    }
  }

  async function refresh(key: string, tags: readonly string[], copy: CachedResponse, inSlot: InSlot, load: FillLoad): Promise<unknown> {
    if (!shared.usable()) return inSlot(() => load(null));
    // The lock and the lookup go to Redis together: one round trip before loading, not two.
    const [attempt, found] = await Promise.all([tryLock(key), shared.lookup(key, tags)]);
    if (attempt === null) return inSlot(() => load(null));
    if (attempt.state === 'busy') return null;
    try {
      const entry = found?.entry;
      // Already refreshed by another pod since we looked: adopt it.
      if (found && entry && entry.response.storedAt > copy.storedAt && shared.judge(key, tags, found, false)) return null;
      return await inSlot(() => load(found ? found.generations : null, attempt.release));
    } finally {
      void attempt.release();
    }
  }

  return { fill, refresh };
}

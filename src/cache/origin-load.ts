import type { Logger } from 'pino';
import type { CacheMetrics } from './cache-metrics.ts';
import { toCachedResponse } from './cached-response.ts';
import type { CachedResponse, CacheRead, OriginResponse } from './cached-response.ts';
import type { FreshnessPolicy } from './freshness.ts';
import type { NearTier } from './near-tier.ts';
import type { SharedTier } from './shared-tier.ts';

export type Loader = () => Promise<OriginResponse>;

/** A copy held in a tier: served stale if the origin fails while it is young enough. */
export interface Copy {
  response: CachedResponse;
  tier: CacheRead['tier'];
}

/**
 * Loads from the origin and stores the result; on loader failure serves `copy` if it is young
 * enough, else rethrows the loader's error unchanged. `generations` are the tags' generations read
 * before the load (null: the entry cannot be proved current and stays out of Redis). `unlock`,
 * when given, is called as soon as the entry's write is sent, so the lock's release rides in the
 * same Redis round trip (Redis applies the fill before the release).
 */
export type LoadAndStore = (
  key: string,
  tags: readonly string[],
  load: Loader,
  generations: number[] | null,
  copy: Copy | null,
  unlock?: () => unknown,
) => Promise<CacheRead>;

export interface OriginLoadOptions {
  near: NearTier;
  shared: SharedTier | null;
  policy: FreshnessPolicy;
  metrics: CacheMetrics;
  log: Logger;
  now: () => number;
}

export function createOriginLoad(options: OriginLoadOptions): LoadAndStore {
  const { near, shared, policy, metrics, log, now } = options;
  return async (key, tags, load, generations, copy, unlock) => {
    const startedAt = now();
    const flight = near.watch(tags);
    let origin: OriginResponse;
    try {
      origin = await load();
      metrics.loads.inc({ result: origin.status === 404 ? 'not_found' : 'ok' });
    } catch (error) {
      metrics.loads.inc({ result: 'error' });
      if (copy && policy.lifetimeLeftMs(copy.response, now()) > 0) {
        metrics.staleServed.inc({ reason: 'origin_error' });
        log.warn({ err: error, key }, 'origin failed; serving stale copy');
        return { response: copy.response, tier: copy.tier, stale: true };
      }
      throw error;
    } finally {
      near.unwatch(flight);
    }
    // storedAt is when the load started: the data is at least that old, and a fill that started
    // earlier (older data) compares as older in the compare-and-set.
    const response = toCachedResponse(origin, tags, startedAt);
    if (origin.keep === false) {
      metrics.loadsNotKept.inc();
      return { response, tier: 'origin', stale: false };
    }
    // The CAS makes the write safe even without the lock (an older fill cannot win).
    if (generations && shared?.usable()) {
      const ttl = policy.lifetimeLeftMs(response, now());
      if (ttl > 0) await shared.store(key, { response, generations }, ttl, unlock);
    }
    if (!flight.tainted) near.put(key, response, now());
    return { response, tier: 'origin', stale: false };
  };
}

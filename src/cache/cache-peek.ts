import type { CacheMetrics } from './cache-metrics.ts';
import type { CacheRead } from './cached-response.ts';
import type { FreshnessPolicy } from './freshness.ts';
import type { NearEntry } from './near-cache.ts';
import type { NearTier } from './near-tier.ts';
import type { Copy, Loader } from './origin-load.ts';
import type { SharedTier } from './shared-tier.ts';
import { createSingleFlight } from './single-flight.ts';

/** What the reads of the catalog cache stand on, composed by createCatalogCache. */
export interface ReadParts {
  near: NearTier;
  /** Absent without Redis (the embedded default). */
  shared: SharedTier | null;
  policy: FreshnessPolicy;
  metrics: CacheMetrics;
  now: () => number;
  /** How long a near copy is served without asking Redis (CACHE_NEAR_TTL_MS). */
  nearTtlMs: number;
  /** Queues the revalidation of a stale copy; the copy is served meanwhile. */
  refreshInBackground(key: string, tags: readonly string[], load: Loader, copy: Copy): void;
}

/** The reads that never wait for a load: what the hot path answers with, and read()'s near step. */
export interface Peeks {
  peek(key: string, tags: readonly string[], load: Loader): CacheRead | null;
  peekShared(key: string, tags: readonly string[], load: Loader): Promise<CacheRead | null>;
  /** A near entry young enough to serve (a stale one starts its refresh); null when Redis or the origin must be asked. */
  serveNear(key: string, tags: readonly string[], load: Loader, entry: NearEntry, at: number): CacheRead | null;
}

export function createPeeks(parts: ReadParts): Peeks {
  const { near, shared, policy, metrics, now, nearTtlMs, refreshInBackground } = parts;
  const nearHits = metrics.lookups.labels('near', 'hit');
  const nearStale = metrics.lookups.labels('near', 'stale');
  const sharedPeeks = createSingleFlight<CacheRead | null>();
  // Background re-checks have their own flights: a request never waits for their gathering delay.
  const nearRechecks = createSingleFlight<CacheRead | null>();

  function peek(key: string, tags: readonly string[], load: Loader): CacheRead | null {
    const entry = near.get(key);
    return entry ? serveNear(key, tags, load, entry, now()) : null;
  }

  function peekShared(key: string, tags: readonly string[], load: Loader): Promise<CacheRead | null> {
    if (!shared?.usable()) return Promise.resolve(null);
    return askRedis(shared, key, tags, load).then((served) => {
      if (served?.stale) metrics.staleServed.inc({ reason: 'revalidating' });
      return served;
    });
  }

  /**
   * One Redis lookup per key at a time (shared by concurrent callers): the current entry, seeding
   * the near tier and starting the refresh of a stale one; null when Redis failed or has nothing
   * current. A `recheck` (nobody waiting) is gathered with others (EntryStore.recheck) and calls
   * its `disowned` when Redis has nothing current.
   */
  function askRedis(redis: SharedTier, key: string, tags: readonly string[], load: Loader, recheck?: { disowned: () => void }): Promise<CacheRead | null> {
    return (recheck ? nearRechecks : sharedPeeks).run(key, async () => {
      const found = await redis.lookup(key, tags, recheck !== undefined);
      if (!found) return null;
      const current = redis.judge(key, tags, found, true);
      if (!current) {
        recheck?.disowned();
        return null;
      }
      metrics.lookups.inc({ tier: 'redis', result: current.stale ? 'stale' : 'hit' });
      if (current.stale) refreshInBackground(key, tags, load, { response: current.response, tier: 'redis' });
      return current;
    }).promise;
  }

  function serveNear(key: string, tags: readonly string[], load: Loader, entry: NearEntry, at: number): CacheRead | null {
    const { response } = entry;
    // With Redis as the shared truth a near copy is trusted for nearTtlMs since Redis last vouched
    // for it; without Redis, the near cache is the only tier and age alone decides. Never past the
    // price bound either way.
    if (shared?.usable() && at - entry.checkedAt >= nearTtlMs) {
      // For one more nearTtlMs the copy is still served while a single background lookup asks Redis
      // again, so the requests of a hot page never queue behind that round trip. Invalidations
      // arrive by pub/sub at once; this only bounds one missed while the subscriber reconnects.
      if (at - entry.checkedAt >= 2 * nearTtlMs) return null;
      recheckNear(shared, key, tags, load, entry);
    }
    const state = policy.classify(response, at);
    if (state === 'expired') return null;
    if (state === 'fresh') {
      nearHits.inc();
      return { response, tier: 'near', stale: false };
    }
    if (at >= entry.refreshAfter) {
      // At most one revalidation attempt per key per nearTtlMs from near hits.
      entry.refreshAfter = at + nearTtlMs;
      refreshInBackground(key, tags, load, { response, tier: 'near' });
    }
    nearStale.inc();
    metrics.staleServed.inc({ reason: 'revalidating' });
    return { response, tier: 'near', stale: true };
  }

  /** The background lookup of serveNear: a current Redis entry replaces the near copy (SharedTier.judge). */
  function recheckNear(redis: SharedTier, key: string, tags: readonly string[], load: Loader, entry: NearEntry): void {
    if (sharedPeeks.has(key) || nearRechecks.has(key)) return;
    // Invalidated, expired or gone in Redis: stop serving the near copy without asking (read()
    // still keeps it as the stale-if-error fallback). If Redis failed, the copy keeps its grace.
    void askRedis(redis, key, tags, load, { disowned: () => (entry.checkedAt = -Infinity) });
  }

  return { peek, peekShared, serveNear };
}

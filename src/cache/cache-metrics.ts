import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

export interface CacheMetrics {
  /** tier: near | redis; result: hit | stale | miss. */
  lookups: Counter<'tier' | 'result'>;
  /** scope: process (joined an in-process flight) | fleet (waited for another pod's fill). */
  singleFlightWaits: Counter<'scope'>;
  /** result: acquired | busy | error. */
  lockAcquisitions: Counter<'result'>;
  lockWaitTimeouts: Counter<string>;
  /** result: ok | not_found | error. */
  loads: Counter<'result'>;
  /** Loads answered but kept in no tier (OriginResponse.keep false). */
  loadsNotKept: Counter<string>;
  /** reason: revalidating | origin_error. */
  staleServed: Counter<'reason'>;
  /** A fill the compare-and-set refused because a newer entry was already stored. */
  fillConflicts: Counter<string>;
  redisErrors: Counter<'operation'>;
  /** source: local (this pod called invalidate) | pubsub (any pod's invalidation, this one's included). */
  invalidations: Counter<'source'>;
}

// Two caches may share a registry (tests, or one per dependency): reuse what is registered.
function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name) as Counter<L> | undefined;
  return existing ?? new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  return {
    lookups: counter(registry, 'catalog_cache_lookups_total', 'Cache lookups by tier and result', ['tier', 'result']),
    singleFlightWaits: counter(
      registry,
      'catalog_cache_single_flight_waits_total',
      'Reads that waited for a load already running in this process or on another pod',
      ['scope'],
    ),
    lockAcquisitions: counter(registry, 'catalog_cache_lock_acquisitions_total', 'Fill lock attempts by result', ['result']),
    lockWaitTimeouts: counter(registry, 'catalog_cache_lock_wait_timeouts_total', 'Waits for another pod\'s fill that gave up and loaded', []),
    loads: counter(registry, 'catalog_cache_loads_total', 'Origin loader calls by result', ['result']),
    loadsNotKept: counter(registry, 'catalog_cache_loads_not_kept_total', 'Loads answered but not cached: built on something other than their tags name', []),
    staleServed: counter(registry, 'catalog_cache_stale_served_total', 'Stale responses served, by reason', ['reason']),
    fillConflicts: counter(registry, 'catalog_cache_fill_conflicts_total', 'Fills refused because a newer entry was stored', []),
    redisErrors: counter(registry, 'catalog_cache_redis_errors_total', 'Redis calls that failed or were short-circuited', ['operation']),
    invalidations: counter(registry, 'catalog_cache_invalidations_total', 'Tag invalidations applied to the near cache', ['source']),
  };
}

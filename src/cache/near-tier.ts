import type { CacheMetrics } from './cache-metrics.ts';
import { ownedResponse, type CachedResponse } from './cached-response.ts';
import type { FreshnessPolicy } from './freshness.ts';
import { createNearCache } from './near-cache.ts';
import type { NearEntry } from './near-cache.ts';

/** A Redis read or origin load in progress whose result may go into the near tier. */
export interface Flight {
  readonly tags: readonly string[];
  /** An invalidation of one of its tags arrived meanwhile: its result must not enter the near tier. */
  tainted: boolean;
}

/**
 * The in-process tier as the read path uses it: the near cache (absent when disabled) plus the
 * reads and loads in flight, so an invalidation that lands while one runs keeps its result out.
 */
export interface NearTier {
  readonly enabled: boolean;
  get(key: string): NearEntry | undefined;
  /** Stores (or, for the copy already held, re-vouches) a response Redis or the origin vouched for at `checkedAt`. */
  put(key: string, response: CachedResponse, checkedAt: number): void;
  /** Watches a read or load until `unwatch`; check `tainted` before putting its result. */
  watch(tags: readonly string[]): Flight;
  unwatch(flight: Flight): void;
  /** Drops every copy carrying any of the tags and taints the flights carrying them. */
  drop(tags: readonly string[], source: 'local' | 'pubsub'): void;
  /** Drops every copy and taints every lookup in flight: invalidations may have been missed. */
  dropAll(): void;
  clear(): void;
}

export interface NearTierOptions {
  /** maxEntries bounds what entries keep alive beyond the bytes they count (NEAR_ENTRY_UNCOUNTED_BYTES each). */
  near: { enabled: boolean; maxBytes: number; maxEntries?: number };
  policy: FreshnessPolicy;
  metrics: CacheMetrics;
  now: () => number;
}

export function createNearTier(options: NearTierOptions): NearTier {
  const { policy, metrics } = options;
  // Near entries are kept until they could no longer be served even on origin failure; whether
  // they may be served without asking Redis is decided per read (near TTL since last check).
  const near = options.near.enabled ? createNearCache({ maxBytes: options.near.maxBytes, maxEntries: options.near.maxEntries, ttlMs: policy.staleIfErrorMs, now: options.now }) : null;
  const flights = new Set<Flight>();

  return {
    enabled: near !== null,
    get: (key) => near?.get(key),
    put(key, response, checkedAt) {
      if (!near) return;
      const held = near.get(key);
      if (held && held.response.storedAt === response.storedAt && held.response.etag === response.etag) {
        // Redis vouched again for the copy already held (a re-check): keep it, so its prepared
        // headers stay valid and the bytes just read become garbage young.
        held.checkedAt = checkedAt;
        return;
      }
      // A body read from Redis is a view into the reply's socket chunk: kept, it would pin the chunk.
      near.set(key, ownedResponse(response), { checkedAt, ttlMs: policy.lifetimeLeftMs(response, checkedAt) });
    },
    watch(tags) {
      const flight: Flight = { tags, tainted: false };
      flights.add(flight);
      return flight;
    },
    unwatch: (flight) => void flights.delete(flight),
    drop(tags, source) {
      metrics.invalidations.inc({ source });
      near?.deleteByTags(tags);
      for (const flight of flights) if (flight.tags.some((tag) => tags.includes(tag))) flight.tainted = true;
    },
    dropAll() {
      near?.clear();
      for (const flight of flights) flight.tainted = true;
    },
    clear: () => near?.clear(),
  };
}

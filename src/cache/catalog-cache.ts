import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { CacheConfig } from '../config.ts';
import { createCacheMetrics } from './cache-metrics.ts';
import { createPeeks } from './cache-peek.ts';
import type { ReadParts } from './cache-peek.ts';
import { ownedResponse, type CacheRead } from './cached-response.ts';
import { createFleetFill, fillWaitMs } from './fleet-fill.ts';
import type { FleetFill } from './fleet-fill.ts';
import { createFreshnessPolicy } from './freshness.ts';
import type { FreshnessPolicy } from './freshness.ts';
import { createInvalidator } from './invalidator.ts';
import { createKeySpace } from './key-space.ts';
import type { NearEntry } from './near-cache.ts';
import { createNearTier } from './near-tier.ts';
import { createOriginLoad } from './origin-load.ts';
import type { Copy, LoadAndStore, Loader } from './origin-load.ts';
import type { RedisBreakerOptions } from './redis-guard.ts';
import { createRefreshQueue } from './refresh-queue.ts';
import type { RefreshQueueOptions } from './refresh-queue.ts';
import { createSharedTier } from './shared-tier.ts';
import { createSingleFlight } from './single-flight.ts';

export type { CachedResponse, CacheRead, OriginResponse } from './cached-response.ts';

export interface CatalogCache {
  /** The rule the cache judges entries by; Cache-Control is derived from it too. */
  readonly freshness: FreshnessPolicy;
  /** Returns the response for `key`, calling `load` at most once per key across the whole fleet when it must be (re)fetched. */
  read(key: string, tags: readonly string[], load: Loader): Promise<CacheRead>;
  /**
   * A near-cache hit answered with no I/O: fresh, or stale (its refresh with `load` started in the
   * background, as `read` would); null otherwise (the caller then takes `read`). Lets a hot request
   * skip everything but sending bytes.
   */
  peek(key: string, tags: readonly string[], load: Loader): CacheRead | null;
  /**
   * A current entry from Redis (for a caller whose `peek` missed): fresh, or stale with its refresh
   * started; null when anything more is needed (a load, an invalidated or expired entry), which
   * `read` then does. Never waits for a load, never throws; concurrent calls for one key share one
   * Redis round trip.
   */
  peekShared(key: string, tags: readonly string[], load: Loader): Promise<CacheRead | null>;
  /** Invalidate every entry carrying any of these tags, in both tiers, on every pod, without scanning the keyspace. */
  invalidate(tags: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The config's cache settings (config.cache); the Redis client is passed in, not its URL. */
export type CatalogCacheSettings = Omit<CacheConfig, 'redis'>;

export interface CatalogCacheOptions {
  /** Every lifetime, bound and size comes from here: the config's defaults are the only ones. */
  settings: CatalogCacheSettings;
  /** Shared tier. Absent: near cache + in-process single-flight only (the embedded default). Not closed by close(). */
  redis?: Redis;
  /** Part of every entry and lock key: bump it when the cached body or entry layout changes. */
  schemaVersion: string | number;
  /** The Redis breaker's thresholds; absent: RedisGuard's. */
  redisBreaker?: RedisBreakerOptions;
  /** With replicas a failover may promote: how long an invalidation waits for one to have it (Invalidator). */
  awaitReplicaMs?: number;
  log?: Logger;
  metrics?: Registry;
  now?: () => number;
  /** When gathered background refreshes start; absent: 50 ms after the first (RefreshQueue). */
  scheduleRefreshes?: RefreshQueueOptions['schedule'];
}

/**
 * The two-tier read-through cache. It composes its parts: the freshness policy, the near tier, the
 * shared tier (Redis), the fleet fill protocol, the refresh queue and the invalidator; what is
 * left here is the read itself: near tier, then Redis, then one load for the fleet.
 */
export function createCatalogCache(options: CatalogCacheOptions): CatalogCache {
  const { settings } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? pino({ level: 'silent' });
  const registry = options.metrics ?? new Registry();
  const metrics = createCacheMetrics(registry);
  const policy = createFreshnessPolicy(settings);
  const near = createNearTier({ near: settings.near, policy, metrics, now });
  const { redis } = options;
  const keys = createKeySpace(settings.keyPrefix, options.schemaVersion);
  const shared = redis
    ? createSharedTier({
        redis,
        keys,
        commandTimeoutMs: settings.redisCommandTimeoutMs,
        redisBreaker: options.redisBreaker,
        near,
        policy,
        metrics,
        registry,
        log,
        now,
      })
    : null;
  const fleet = redis && shared ? createFleetFill({ redis, keys, shared, lockTtlMs: settings.lockTtlMs, metrics, log, now }) : null;
  const invalidator = redis && shared ? createInvalidator({ redis, settings, guard: shared.guard, awaitReplicaMs: options.awaitReplicaMs }) : null;
  const queue = createRefreshQueue({
    concurrency: settings.refreshConcurrency,
    // A bound on memory: each waiting refresh holds a lock, closures and its stale copy (docs/memory.md).
    maxQueued: settings.refreshMaxQueued,
    schedule: options.scheduleRefreshes,
    onError: (key, error) => log.warn({ err: error, key }, 'background refresh failed; stale copy still served'),
  });
  const loadAndStore = createOriginLoad({ near, shared, policy, metrics, log, now });

  function refreshInBackground(key: string, tags: readonly string[], load: Loader, stale: Copy): void {
    let copy = stale;
    const queued = queue.request(key, (inSlot) => {
      const fill = (generations: number[] | null, unlock?: () => unknown) => loadAndStore(key, tags, load, generations, copy, unlock);
      return fleet ? fleet.refresh(key, tags, copy.response, inSlot, fill) : inSlot(() => fill(null));
    });
    // A queued refresh may wait a while holding its stale copy: with bytes of its own, not a view
    // into a Redis reply's socket chunk.
    if (queued) copy = { ...stale, response: ownedResponse(stale.response) };
  }

  const parts: ReadParts = { near, shared, policy, metrics, now, nearTtlMs: settings.near.ttlMs, refreshInBackground };
  const { peek, peekShared, serveNear } = createPeeks(parts);
  const reads = createReads(parts, { serveNear, fleet, loadAndStore });
  let closed = false;

  return {
    freshness: policy,
    read: reads.read,
    peek,
    peekShared,
    async invalidate(tags) {
      if (tags.length === 0) return;
      near.drop(tags, 'local');
      await invalidator?.invalidate(tags);
    },
    async close() {
      if (closed) return;
      closed = true;
      queue.close();
      await shared?.close();
      // Let running loads finish and store, but a hung loader must not hang shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...queue.running(), ...reads.running()]),
        new Promise((resolve) => (timer = setTimeout(resolve, fillWaitMs(settings.lockTtlMs)))),
      ]);
      clearTimeout(timer);
      shared?.shutdown();
      near.clear();
    },
  };
}

interface FillParts {
  serveNear: ReturnType<typeof createPeeks>['serveNear'];
  fleet: FleetFill | null;
  loadAndStore: LoadAndStore;
}

/** read(): near tier, then Redis (one lookup per key in this process), then a fleet fill or, without Redis, a local load. */
function createReads(parts: ReadParts, fill: FillParts): { read: CatalogCache['read']; running(): Promise<CacheRead>[] } {
  const { near, shared, policy, metrics, now, refreshInBackground } = parts;
  const { serveNear, fleet, loadAndStore } = fill;
  const lookups = createSingleFlight<CacheRead>();

  function read(key: string, tags: readonly string[], load: Loader): Promise<CacheRead> {
    const entry = near.get(key);
    if (entry) {
      const hit = serveNear(key, tags, load, entry, now());
      if (hit) return Promise.resolve(hit);
    }
    if (near.enabled) metrics.lookups.inc({ tier: 'near', result: 'miss' });
    const flight = lookups.run(key, () => lookup(key, tags, load, entry ?? null));
    if (flight.joined) metrics.singleFlightWaits.inc({ scope: 'process' });
    return flight.promise;
  }

  async function lookup(key: string, tags: readonly string[], load: Loader, nearEntry: NearEntry | null): Promise<CacheRead> {
    const nearCopy: Copy | null = nearEntry ? { response: nearEntry.response, tier: 'near' } : null;
    if (!shared || !fleet) return localRead(key, tags, load, nearCopy);
    // Only the Redis call is guarded: a loader error further down must reach the caller unchanged.
    const found = await shared.lookup(key, tags);
    if (!found) return localRead(key, tags, load, nearCopy);
    const served = shared.judge(key, tags, found, true);
    if (served) {
      metrics.lookups.inc({ tier: 'redis', result: served.stale ? 'stale' : 'hit' });
      if (served.stale) {
        metrics.staleServed.inc({ reason: 'revalidating' });
        refreshInBackground(key, tags, load, { response: served.response, tier: 'redis' });
      }
      return served;
    }
    metrics.lookups.inc({ tier: 'redis', result: 'miss' });
    // Expired or invalidated copies are kept only for the case where the origin fails.
    const redisCopy: Copy | null = found.entry ? { response: found.entry.response, tier: 'redis' } : null;
    const copy = newer(redisCopy, nearCopy);
    const loadHere = (generations: number[] | null, unlock?: () => unknown) => loadAndStore(key, tags, load, generations, copy, unlock);
    return fleet.fill(key, tags, found.generations, loadHere);
  }

  /** Redis unavailable: near copy by age, else one load per key in this process. */
  async function localRead(key: string, tags: readonly string[], load: Loader, nearCopy: Copy | null): Promise<CacheRead> {
    if (nearCopy) {
      const state = policy.classify(nearCopy.response, now());
      if (state !== 'expired') {
        const stale = state === 'stale';
        metrics.lookups.inc({ tier: 'near', result: stale ? 'stale' : 'hit' });
        if (stale) {
          metrics.staleServed.inc({ reason: 'revalidating' });
          refreshInBackground(key, tags, load, nearCopy);
        }
        return { response: nearCopy.response, tier: 'near', stale };
      }
    }
    return loadAndStore(key, tags, load, null, nearCopy);
  }

  return { read, running: () => lookups.pending() };
}

function newer(a: Copy | null, b: Copy | null): Copy | null {
  if (!a) return b;
  if (!b) return a;
  return b.response.storedAt > a.response.storedAt ? b : a;
}

import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { observeBreaker } from '../observability/breaker-metrics.ts';
import { createCacheMetrics } from './cache-metrics.ts';
import type { CacheMetrics } from './cache-metrics.ts';
import { createCacheSubscriber } from './cache-subscriber.ts';
import type { CacheSubscriber } from './cache-subscriber.ts';
import { toCachedResponse } from './cached-response.ts';
import type { CachedResponse, CacheRead, OriginResponse } from './cached-response.ts';
import { createFillLock } from './fill-lock.ts';
import type { FillLock, LockAttempt } from './fill-lock.ts';
import { bumpTagGenerations } from './invalidation.ts';
import { createKeySpace } from './key-space.ts';
import type { KeySpace } from './key-space.ts';
import { createNearCache } from './near-cache.ts';
import type { NearCache, NearEntry } from './near-cache.ts';
import { createEntryStore, generationsMatch } from './redis-entry.ts';
import type { EntryStore, RedisLookup } from './redis-entry.ts';
import { createRedisGuard } from './redis-guard.ts';
import type { RedisBreakerOptions, RedisGuard } from './redis-guard.ts';
import { createSingleFlight } from './single-flight.ts';

export type { CachedResponse, CacheRead, OriginResponse } from './cached-response.ts';

export interface CatalogCache {
  /** Returns the response for `key`, calling `load` at most once per key across the whole fleet when it must be (re)fetched. */
  read(key: string, tags: readonly string[], load: () => Promise<OriginResponse>): Promise<CacheRead>;
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

export interface CatalogCacheOptions {
  /** Shared tier. Absent: near cache + in-process single-flight only (the embedded default). Not closed by close(). */
  redis?: Redis;
  /** Prefix of every Redis key and channel. Default 'catalog:'. */
  keyPrefix?: string;
  /** Part of every entry and lock key: bump it when the cached body or entry layout changes. Default 1. */
  schemaVersion?: string | number;
  near?: {
    /** Default true. */
    enabled?: boolean;
    /** Default 64 MiB. */
    maxBytes?: number;
    /** How long a near entry is served without asking Redis. Default 1_000. */
    ttlMs?: number;
  };
  /** Served without revalidation while younger than this. Default 15_000. */
  freshTtlMs?: number;
  /** Price/stock bound: never served past this age while the origin answers. Default 60_000. */
  maxStaleMs?: number;
  /** Served (stale) up to this age when the origin fails; also the Redis key TTL. Default 600_000. */
  staleIfErrorMs?: number;
  /** Lifetime of a cached 404. Default 10_000. */
  missTtlMs?: number;
  lock?: {
    /** Fill lock TTL: should exceed the loader's own timeout. Default 5_000. */
    ttlMs?: number;
    /** Longest wait for another pod's fill before loading anyway. Default ttlMs + 1_000. */
    waitMs?: number;
  };
  refresh?: {
    /**
     * Background refresh loads running at once in this process (default 8). A wave of pages going stale
     * together then costs the event loop and the database pool a steady trickle instead of a burst
     * that stalls requests; the stale copies are served while refreshes wait their turn.
     */
    concurrency?: number;
    /** Refreshes waiting beyond this many are not queued; a later hit on the page asks again. Default 10_000. */
    maxQueued?: number;
  };
  /** Timeout of each Redis operation, enforced by the breaker when the client has no commandTimeout of its own. Default 100. */
  redisCommandTimeoutMs?: number;
  redisBreaker?: RedisBreakerOptions;
  log?: Logger;
  metrics?: Registry;
  now?: () => number;
}

interface Copy {
  response: CachedResponse;
  tier: CacheRead['tier'];
}

/** A Redis read or origin load in progress whose result may go into the near cache. */
interface Flight {
  readonly tags: readonly string[];
  /** An invalidation of one of its tags arrived meanwhile: its result must not enter the near cache. */
  tainted: boolean;
}

type Found = RedisLookup & { tainted: boolean };

type Loader = () => Promise<OriginResponse>;

const FIRST_POLL_MS = 5;
/** How long refreshes asked for are gathered before they start together. */
const REFRESH_GATHER_MS = 50;
const MAX_POLL_MS = 100;

export function createCatalogCache(options: CatalogCacheOptions): CatalogCache {
  const now = options.now ?? Date.now;
  const log = options.log ?? pino({ level: 'silent' });
  const freshTtlMs = options.freshTtlMs ?? 15_000;
  const maxStaleMs = options.maxStaleMs ?? 60_000;
  const staleIfErrorMs = options.staleIfErrorMs ?? 600_000;
  const missTtlMs = options.missTtlMs ?? 10_000;
  const nearTtlMs = options.near?.ttlMs ?? 1_000;
  const lockTtlMs = options.lock?.ttlMs ?? 5_000;
  const lockWaitMs = options.lock?.waitMs ?? lockTtlMs + 1_000;
  const commandTimeoutMs = options.redisCommandTimeoutMs ?? 100;
  if (!(freshTtlMs <= maxStaleMs && maxStaleMs <= staleIfErrorMs)) {
    throw new Error('catalog cache: expected freshTtlMs <= maxStaleMs <= staleIfErrorMs');
  }

  const registry = options.metrics ?? new Registry();
  const metrics: CacheMetrics = createCacheMetrics(registry);
  const keys: KeySpace = createKeySpace(options.keyPrefix ?? 'catalog:', options.schemaVersion ?? 1);
  // Near entries are kept until they could no longer be served even on origin failure; whether
  // they may be served without asking Redis is decided per read (nearTtlMs since last check).
  const near: NearCache | null =
    options.near?.enabled === false
      ? null
      : createNearCache({ maxBytes: options.near?.maxBytes ?? 64 * 1024 * 1024, ttlMs: staleIfErrorMs, now });

  const redis = options.redis ?? null;
  let guard: RedisGuard | null = null;
  let store: EntryStore | null = null;
  let lock: FillLock | null = null;
  let subscriber: CacheSubscriber | null = null;
  let unobserveBreaker = (): void => undefined;
  if (redis) {
    guard = createRedisGuard(redis, commandTimeoutMs, options.redisBreaker);
    store = createEntryStore(redis, keys, guard);
    lock = createFillLock(redis, lockTtlMs);
    subscriber = createCacheSubscriber({
      redis,
      keys,
      log,
      onInvalidate: (tags) => dropNear(tags, 'pubsub'),
    });
    unobserveBreaker = observeBreaker(guard.breaker, 'redis', registry);
  }

  const lookups = createSingleFlight<CacheRead>();
  const refreshes = createSingleFlight<unknown>();
  const refreshSlots = pLimit(options.refresh?.concurrency ?? 8);
  const gathered = new Map<string, () => void>();
  let gatherTimer: NodeJS.Timeout | null = null;
  const maxQueuedRefreshes = options.refresh?.maxQueued ?? 10_000;
  const flights = new Set<Flight>();
  let closed = false;

  function dropNear(tags: readonly string[], source: 'local' | 'pubsub'): void {
    metrics.invalidations.inc({ source });
    near?.deleteByTags(tags);
    for (const flight of flights) if (flight.tags.some((tag) => tags.includes(tag))) flight.tainted = true;
  }

  function redisUsable(): boolean {
    return guard !== null && !closed && guard.usable();
  }

  function redisFailed(operation: string, error: unknown): void {
    metrics.redisErrors.inc({ operation });
    log.debug({ err: error, operation }, 'redis call failed; serving without it');
  }

  /** fresh: serve; stale: serve and revalidate; expired: refetch (serve only if the origin fails). */
  function classify(response: CachedResponse, at: number): 'fresh' | 'stale' | 'expired' {
    const age = at - response.storedAt;
    if (response.status === 404) return age < missTtlMs ? 'fresh' : 'expired';
    return age < freshFor(response) ? 'fresh' : age < maxStaleMs ? 'stale' : 'expired';
  }

  /**
   * 50-100 % of freshTtlMs, fixed per entry (its load time's milliseconds): pages loaded together,
   * e.g. after a deploy, go stale over a spread instead of all refreshing from PostgreSQL at once.
   * With 80-100 % the waves of 1,200 listings warmed together kept recurring for minutes and cost
   * their benchmark rounds up to a quarter of their throughput; the wider spread costs about a fifth
   * more refreshes on average and dissolves such waves within two cycles.
   */
  function freshFor(response: CachedResponse): number {
    return freshTtlMs * (0.5 + (0.5 * (response.storedAt % 1000)) / 1000);
  }

  /** Remaining lifetime of an entry as a stale-if-error copy (404s only live missTtlMs). */
  function lifetimeLeft(response: CachedResponse, at: number): number {
    return (response.status === 404 ? missTtlMs : staleIfErrorMs) - (at - response.storedAt);
  }

  function putNear(key: string, response: CachedResponse, checkedAt: number): void {
    const held = near?.get(key);
    if (held && held.response.storedAt === response.storedAt && held.response.etag === response.etag) {
      // Redis vouched again for the copy already held (a re-check): keep it, so its prepared
      // headers stay valid and the bytes just read become garbage young.
      held.checkedAt = checkedAt;
      return;
    }
    near?.set(key, response, { checkedAt, ttlMs: lifetimeLeft(response, checkedAt) });
  }

  function newer(a: Copy | null, b: Copy | null): Copy | null {
    if (!a) return b;
    if (!b) return a;
    return b.response.storedAt > a.response.storedAt ? b : a;
  }

  // --- the read path -------------------------------------------------------------------------

  const nearHits = metrics.lookups.labels('near', 'hit');

  const nearStale = metrics.lookups.labels('near', 'stale');

  function peek(key: string, tags: readonly string[], load: Loader): CacheRead | null {
    const entry = near?.get(key);
    return entry ? serveNear(key, tags, load, entry, now()) : null;
  }

  const sharedPeeks = createSingleFlight<CacheRead | null>();
  // Background re-checks have their own flights: a request never waits for their gathering delay.
  const nearRechecks = createSingleFlight<CacheRead | null>();

  function peekShared(key: string, tags: readonly string[], load: Loader): Promise<CacheRead | null> {
    if (!redisUsable()) return Promise.resolve(null);
    return askRedis(key, tags, load).then((served) => {
      if (served?.stale) metrics.staleServed.inc({ reason: 'revalidating' });
      return served;
    });
  }

  /**
   * One Redis lookup per key at a time (shared by concurrent callers): the current entry, seeding
   * the near cache and starting the refresh of a stale one; null when Redis failed or has nothing
   * current. A `recheck` (nobody waiting) is gathered with others (EntryStore.recheck) and calls
   * its `disowned` when Redis has nothing current.
   */
  function askRedis(key: string, tags: readonly string[], load: Loader, recheck?: { disowned: () => void }): Promise<CacheRead | null> {
    return (recheck ? nearRechecks : sharedPeeks).run(key, async () => {
      const found = await redisGet(key, tags, recheck !== undefined);
      if (!found) return null;
      const current = judgeRedis(key, tags, found, true);
      if (!current) {
        recheck?.disowned();
        return null;
      }
      metrics.lookups.inc({ tier: 'redis', result: current.stale ? 'stale' : 'hit' });
      if (current.stale) refreshInBackground(key, tags, load, { response: current.response, tier: 'redis' });
      return current;
    }).promise;
  }

  function read(key: string, tags: readonly string[], load: Loader): Promise<CacheRead> {
    const entry = near?.get(key);
    if (entry) {
      const hit = serveNear(key, tags, load, entry, now());
      if (hit) return Promise.resolve(hit);
    }
    if (near) metrics.lookups.inc({ tier: 'near', result: 'miss' });
    const flight = lookups.run(key, () => lookup(key, tags, load, entry ?? null));
    if (flight.joined) metrics.singleFlightWaits.inc({ scope: 'process' });
    return flight.promise;
  }

  /** A near entry young enough to serve (a stale one starts its refresh); null when Redis or the origin must be asked. */
  function serveNear(key: string, tags: readonly string[], load: Loader, entry: NearEntry, at: number): CacheRead | null {
    const { response } = entry;
    // With Redis as the shared truth a near copy is trusted for nearTtlMs since Redis last vouched
    // for it; without Redis, the near cache is the only tier and age alone decides. Never past the
    // price bound either way.
    if (redisUsable() && at - entry.checkedAt >= nearTtlMs) {
      // For one more nearTtlMs the copy is still served while a single background lookup asks Redis
      // again, so the requests of a hot page never queue behind that round trip. Invalidations
      // arrive by pub/sub at once; this only bounds one missed while the subscriber reconnects.
      if (at - entry.checkedAt >= 2 * nearTtlMs) return null;
      recheckNear(key, tags, load, entry);
    }
    const state = classify(response, at);
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

  /** The background lookup of serveNear: a current Redis entry replaces the near copy (judgeRedis). */
  function recheckNear(key: string, tags: readonly string[], load: Loader, entry: NearEntry): void {
    if (sharedPeeks.has(key) || nearRechecks.has(key)) return;
    // Invalidated, expired or gone in Redis: stop serving the near copy without asking (read()
    // still keeps it as the stale-if-error fallback). If Redis failed, the copy keeps its grace.
    void askRedis(key, tags, load, { disowned: () => (entry.checkedAt = -Infinity) });
  }

  async function lookup(key: string, tags: readonly string[], load: Loader, nearEntry: NearEntry | null): Promise<CacheRead> {
    const nearCopy: Copy | null = nearEntry ? { response: nearEntry.response, tier: 'near' } : null;
    // Only the Redis call is guarded: a loader error further down must reach the caller unchanged.
    const found = await redisGet(key, tags);
    if (found) return fromRedis(key, tags, load, found, nearCopy);
    return localRead(key, tags, load, nearCopy);
  }

  /** Judges a Redis lookup: a read to return, or null when the key must be (re)filled. */
  function judgeRedis(key: string, tags: readonly string[], found: Found, acceptStale: boolean): CacheRead | null {
    const { entry } = found;
    if (!entry || !generationsMatch(entry, tags, found.generations)) return null;
    const at = now();
    const state = classify(entry.response, at);
    if (state === 'expired' || (state === 'stale' && !acceptStale)) return null;
    // A read that raced an invalidation may still be answered, but must not seed the near cache.
    if (!found.tainted) putNear(key, entry.response, at);
    return { response: entry.response, tier: 'redis', stale: state === 'stale' };
  }

  async function fromRedis(
    key: string,
    tags: readonly string[],
    load: Loader,
    found: Found,
    nearCopy: Copy | null,
  ): Promise<CacheRead> {
    const served = judgeRedis(key, tags, found, true);
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
    return fleetFill(key, tags, load, found.generations, newer(redisCopy, nearCopy));
  }

  /** Redis unavailable: near copy by age, else one load per key in this process. */
  async function localRead(key: string, tags: readonly string[], load: Loader, nearCopy: Copy | null): Promise<CacheRead> {
    if (nearCopy) {
      const state = classify(nearCopy.response, now());
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

  /**
   * Fleet single-flight: the Redlock holder loads and fills; the others wait for the fill (woken by
   * the fill's pub/sub message, polling with backoff as a fallback) and retry the lock between
   * checks, so a holder that died blocks them no longer than the lock TTL.
   */
  async function fleetFill(
    key: string,
    tags: readonly string[],
    load: Loader,
    generations: number[],
    copy: Copy | null,
  ): Promise<CacheRead> {
    const deadline = now() + lockWaitMs;
    let delay = FIRST_POLL_MS;
    let waited = false;
    let current = generations;
    for (;;) {
      const attempt = await tryLock(key);
      if (attempt === null) return loadAndStore(key, tags, load, current, copy);
      if (attempt.state === 'acquired') {
        try {
          // Someone may have filled between our lookup and the lock: never load twice.
          const found = await redisGet(key, tags);
          if (found) {
            const served = judgeRedis(key, tags, found, true);
            if (served) return served;
            current = found.generations;
          }
          return await loadAndStore(key, tags, load, found ? current : null, copy, attempt.release);
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
        return loadAndStore(key, tags, load, current, copy);
      }
      await subscriber?.waitForFill(key, Math.min(delay, remaining));
      delay = Math.min(delay * 2, MAX_POLL_MS);
      const found = await redisGet(key, tags);
      if (!found) return loadAndStore(key, tags, load, current, copy);
      const served = judgeRedis(key, tags, found, true);
      if (served) return served;
      current = found.generations;
    }
  }

  /**
   * One revalidation per key per pod; if another pod holds the lock, it is the one refreshing.
   * Refreshes asked for within REFRESH_GATHER_MS start together (the stale copy is served
   * meanwhile), so their locks and their lookups each go to Redis as one write, and the loads that
   * run together share round trips too (product pages are one query per turn). Every page goes
   * stale about twice a minute, and a round trip costs this event loop far more than its commands
   * do (see docs/caching.md), so refreshing one page at a time was most of a busy pod's background
   * work.
   */
  function refreshInBackground(key: string, tags: readonly string[], load: Loader, copy: Copy): void {
    if (closed || refreshes.has(key) || gathered.has(key) || gathered.size + refreshSlots.pendingCount >= maxQueuedRefreshes) return;
    gathered.set(key, () => startRefresh(key, tags, load, copy));
    gatherTimer ??= setTimeout(startGathered, REFRESH_GATHER_MS);
  }

  function startGathered(): void {
    gatherTimer = null;
    const starts = [...gathered.values()];
    gathered.clear();
    for (const start of starts) start();
  }

  /**
   * The lock and the lookup of every refresh in a gathered batch go to Redis at once; only the
   * loads wait for a slot (refreshSlots), so the database sees at most `refresh.concurrency` of
   * them however large the wave.
   */
  function startRefresh(key: string, tags: readonly string[], load: Loader, copy: Copy): void {
    const loadInSlot = (generations: number[] | null, unlock?: () => unknown) =>
      refreshSlots(() => (closed ? null : loadAndStore(key, tags, load, generations, copy, unlock)));
    const flight = refreshes.run(key, async () => {
      if (closed) return null;
      try {
        if (!redisUsable()) return await loadInSlot(null);
        // The lock and the lookup go to Redis together: one round trip before loading, not two.
        const [attempt, found] = await Promise.all([tryLock(key), redisGet(key, tags)]);
        if (attempt === null) return await loadInSlot(null);
        if (attempt.state === 'busy') return null;
        try {
          const entry = found?.entry;
          // Already refreshed by another pod since we looked: adopt it.
          if (found && entry && entry.response.storedAt > copy.response.storedAt && judgeRedis(key, tags, found, false)) return null;
          return await loadInSlot(found ? found.generations : null, attempt.release);
        } finally {
          void attempt.release();
        }
      } catch (error) {
        log.warn({ err: error, key }, 'background refresh failed; stale copy still served');
        return null;
      }
    });
    void flight.promise;
  }

  /**
   * Loads from the origin and stores the result; on loader failure serves a copy young enough, else
   * rethrows. `unlock`, when given, is called as soon as the entry's write is sent, so the lock's
   * release rides in the same Redis round trip (Redis applies the fill before the release).
   */
  async function loadAndStore(
    key: string,
    tags: readonly string[],
    load: Loader,
    generations: number[] | null,
    copy: Copy | null,
    unlock?: () => unknown,
  ): Promise<CacheRead> {
    const startedAt = now();
    const flight: Flight = { tags, tainted: false };
    flights.add(flight);
    let origin: OriginResponse;
    try {
      origin = await load();
      metrics.loads.inc({ result: origin.status === 404 ? 'not_found' : 'ok' });
    } catch (error) {
      metrics.loads.inc({ result: 'error' });
      if (copy && lifetimeLeft(copy.response, now()) > 0) {
        metrics.staleServed.inc({ reason: 'origin_error' });
        log.warn({ err: error, key }, 'origin failed; serving stale copy');
        return { response: copy.response, tier: copy.tier, stale: true };
      }
      throw error;
    } finally {
      flights.delete(flight);
    }
    // storedAt is when the load started: the data is at least that old, and a fill that started
    // earlier (older data) compares as older in the compare-and-set.
    const response = toCachedResponse(origin, tags, startedAt);
    // Without the generations read before the load we cannot prove the entry current: near only.
    // The CAS makes the write safe even without the lock (an older fill cannot win).
    if (generations && guard && store && redisUsable()) {
      const shared = store;
      const ttl = lifetimeLeft(response, now());
      if (ttl > 0) {
        try {
          const writing = guard.run(() => shared.write(key, { response, generations }, ttl));
          unlock?.();
          const written = await writing;
          if (!written) metrics.fillConflicts.inc();
        } catch (error) {
          redisFailed('write', error);
        }
      }
    }
    if (!flight.tainted) putNear(key, response, now());
    return { response, tier: 'origin', stale: false };
  }

  async function redisGet(key: string, tags: readonly string[], recheck = false): Promise<Found | null> {
    if (!redisUsable() || !guard || !store) return null;
    const shared = store;
    const flight: Flight = { tags, tainted: false };
    flights.add(flight);
    try {
      // The store runs each pipeline of lookups through the guard (one breaker call per round trip).
      const found = await (recheck ? shared.recheck(key, tags) : shared.get(key, tags));
      return { ...found, tainted: flight.tainted };
    } catch (error) {
      redisFailed('get', error);
      return null;
    } finally {
      flights.delete(flight);
    }
  }

  /** The attempt, or null when Redis cannot be asked (the caller loads without the lock). */
  async function tryLock(key: string): Promise<LockAttempt | null> {
    if (!redisUsable() || !guard || !lock) return null;
    const fleet = lock;
    try {
      const attempt = await guard.run(() => fleet.tryAcquire(keys.lock(key)));
      metrics.lockAcquisitions.inc({ result: attempt.state });
      if (attempt.state === 'busy') return attempt;
      const redisGuard = guard;
      let released: Promise<void> | null = null;
      // Idempotent: callers release early (with the fill) and again in their `finally`.
      const release = (): Promise<void> =>
        (released ??= redisGuard.run(() => attempt.release()).catch((error: unknown) => redisFailed('unlock', error)));
      return { state: 'acquired', release };
    } catch (error) {
      metrics.lockAcquisitions.inc({ result: 'error' });
      redisFailed('lock', error);
      return null;
    }
  }

  // --- invalidation and lifecycle -------------------------------------------------------------

  async function invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    dropNear(tags, 'local');
    if (!redis || !guard) return;
    // Counters outlive every entry that could carry their old generation (see invalidation.ts).
    const tagTtlMs = 2 * staleIfErrorMs + lockTtlMs;
    // Rejects when Redis is unavailable: the caller (change feed) must retry, or other pods keep
    // serving the old entry until it expires.
    await guard.run(() => bumpTagGenerations(redis, keys, tags, tagTtlMs));
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    if (gatherTimer) clearTimeout(gatherTimer);
    gathered.clear();
    await subscriber?.close();
    // Let running loads finish and store, but a hung loader must not hang shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...refreshes.pending(), ...lookups.pending()]),
      new Promise((resolve) => (timer = setTimeout(resolve, lockWaitMs))),
    ]);
    clearTimeout(timer);
    unobserveBreaker();
    guard?.shutdown();
    near?.clear();
  }

  return { read, peek, peekShared, invalidate, close };
}

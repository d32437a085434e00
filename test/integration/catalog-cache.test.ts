import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCatalogCache } from '../../src/cache/catalog-cache.ts';
import type { CatalogCache, CatalogCacheOptions, OriginResponse } from '../../src/cache/catalog-cache.ts';
import { toCachedResponse } from '../../src/cache/cached-response.ts';
import { createCacheSubscriber } from '../../src/cache/cache-subscriber.ts';
import { buildInvalidator } from '../../src/roles/dependencies.ts';
import { TAGS_PER_TRANSACTION } from '../../src/cache/invalidator.ts';
import { createKeySpace } from '../../src/cache/key-space.ts';
import { createEntryStore } from '../../src/cache/redis-entry.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { createRedisGuard } from '../../src/cache/redis-guard.ts';
import { cacheSettings } from '../support/cache-settings.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';
import { silentLog } from '../support/database.ts';

// The shared Redis also serves other projects: everything lives under this prefix and only
// these keys are deleted afterwards.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `catalog-test:${randomUUID()}:`;

let admin: Redis;
const clients: Redis[] = [];
const caches: CatalogCache[] = [];
let testNumber = 0;
let keyPrefix = PREFIX;

beforeAll(async () => {
  admin = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
  expect(await waitForRedisReady(admin, 5_000)).toBe(true);
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await Promise.all(clients.splice(0).map((client) => client.quit()));
  keyPrefix = `${PREFIX}${++testNumber}:`;
});

afterAll(async () => {
  await deleteKeysWithPrefix(admin, PREFIX);
  await admin.quit();
});

/** Settings from these variables (the config's defaults otherwise), under this test's key prefix. */
function settings(env: Record<string, string> = {}) {
  return cacheSettings({ REDIS_KEY_PREFIX: keyPrefix, REDIS_COMMAND_TIMEOUT_MS: '2000', ...env });
}

/** Pages go stale 50-100 ms after their load and may be served stale for 10 s. */
const SHORT_FRESH = { CACHE_FRESH_TTL_MS: '100', CACHE_MAX_STALE_MS: '10000', CACHE_STALE_IF_ERROR_MS: '20000' };

/** One pod: its own Redis connection and registry, all pods of a test sharing keyPrefix. */
async function pod(
  env: Record<string, string> = {},
  options: Partial<Omit<CatalogCacheOptions, 'settings'>> = {},
): Promise<{ cache: CatalogCache; registry: Registry; redis: Redis }> {
  const redis = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
  clients.push(redis);
  expect(await waitForRedisReady(redis, 5_000)).toBe(true);
  const registry = new Registry();
  const cache = createCatalogCache({ settings: settings(env), redis, schemaVersion: 1, metrics: registry, ...options });
  caches.push(cache);
  return { cache, registry, redis };
}

/** A loader whose body and status can be changed between reads, counting its calls (and telling `onCall` of each). */
function origin(initial: string, delayMs = 20) {
  const state = {
    body: initial,
    status: 200 as 200 | 404,
    calls: 0,
    gate: null as Promise<void> | null,
    fail: null as Error | null,
    onCall: null as (() => void) | null,
  };
  const load = async (): Promise<OriginResponse> => {
    state.calls++;
    state.onCall?.();
    const body = state.body;
    const status = state.status;
    const fail = state.fail;
    await sleep(delayMs);
    if (state.gate) await state.gate;
    if (fail) throw fail;
    return { status, body: Buffer.from(body) };
  };
  return { state, load };
}

function deferred() {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v));
  return match?.value ?? 0;
}

describe('catalog cache on a shared Redis', () => {
  it('when 500 concurrent reads hit one cold key on two instances, then the origin is loaded once', async () => {
    const a = await pod();
    const b = await pod();
    const { state, load } = origin('{"id":1,"price":100}', 50);

    const reads = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? a : b).cache.read('product:1', ['product:1'], load)),
    );

    expect(state.calls).toBe(1);
    expect(new Set(reads.map((read) => read.response.body.toString()))).toEqual(new Set(['{"id":1,"price":100}']));
    expect(new Set(reads.map((read) => read.response.etag)).size).toBe(1);
    expect(reads.filter((read) => read.tier === 'origin').length).toBeGreaterThan(0);
    const processWaits =
      (await metricValue(a.registry, 'catalog_cache_single_flight_waits_total', { scope: 'process' })) +
      (await metricValue(b.registry, 'catalog_cache_single_flight_waits_total', { scope: 'process' }));
    expect(processWaits).toBe(498);
  });

  it('when a fresh entry goes stale, then it is served at once while a single refresh runs and the next read sees the new body', async () => {
    const a = await pod(SHORT_FRESH);
    const b = await pod({ ...SHORT_FRESH, CACHE_NEAR_ENABLED: 'false' });
    const { state, load } = origin('v1');
    await a.cache.read('listing:1', ['listings'], load);
    await sleep(150);

    state.body = 'v2';
    const gate = deferred();
    state.gate = gate.promise;
    // Answered while the refresh's load is held at the gate: the read did not wait for it.
    const first = await a.cache.read('listing:1', ['listings'], load);
    expect(first).toMatchObject({ stale: true });
    expect(first.response.body.toString()).toBe('v1');

    // While the refresh is held open: more stale reads on both pods, still one refresh in total.
    await vi.waitFor(() => expect(state.calls).toBe(2), { timeout: 2_000, interval: 5 });
    const during = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).cache.read('listing:1', ['listings'], load)),
    );
    expect(during.every((read) => read.stale && read.response.body.toString() === 'v1')).toBe(true);
    expect(state.calls).toBe(2);

    gate.resolve();
    state.gate = null;
    await vi.waitFor(
      async () => {
        const next = await a.cache.read('listing:1', ['listings'], load);
        expect(next.response.body.toString()).toBe('v2');
        expect(next.stale).toBe(false);
      },
      { timeout: 3_000, interval: 20 },
    );
    expect((await b.cache.read('listing:1', ['listings'], load)).response.body.toString()).toBe('v2');
    expect(state.calls).toBe(2);
  });

  it('when many pages go stale together, then their refreshes run a few at a time while every stale read is answered at once', async () => {
    const { cache } = await pod({ ...SHORT_FRESH, CACHE_REFRESH_CONCURRENCY: '2' });
    let running = 0;
    let mostAtOnce = 0;
    let calls = 0;
    let gate: Promise<void> = Promise.resolve();
    const load = async (): Promise<OriginResponse> => {
      calls++;
      mostAtOnce = Math.max(mostAtOnce, ++running);
      await gate;
      await sleep(30);
      running--;
      return { status: 200, body: Buffer.from(`{"call":${calls}}`) };
    };
    const keys = Array.from({ length: 10 }, (_, i) => `listing:wave:${i}`);
    for (const key of keys) await cache.read(key, ['listings'], load);
    mostAtOnce = 0;
    await sleep(150);

    // The refreshes' loads wait at a gate: the stale reads are answered without waiting for them.
    const held = deferred();
    gate = held.promise;
    const stale = await Promise.all(keys.map((key) => cache.read(key, ['listings'], load)));
    held.resolve();
    expect(stale.every((read) => read.stale)).toBe(true);
    await vi.waitFor(() => expect(calls).toBe(20), { timeout: 3_000, interval: 10 });
    expect(mostAtOnce).toBe(2);
    // Every page then carries its refreshed body (loads 11-20), not the first one.
    await vi.waitFor(async () => {
      const refreshed = await Promise.all(keys.map((key) => cache.read(key, ['listings'], load)));
      expect(refreshed.every((read) => (JSON.parse(read.response.body.toString()) as { call: number }).call > 10)).toBe(true);
    }, { timeout: 2_000, interval: 10 });
    expect(mostAtOnce).toBe(2);
  });

  it('when pages go stale a few milliseconds apart, then their refreshes start together and share Redis writes', async () => {
    // The pods' clock moves only when the test moves it, and the gathering window closes when the
    // test says: a slow host can neither stretch the reads past the window nor age the new pages.
    let clock = Date.now();
    const windows: (() => void)[] = [];
    const { cache, redis } = await pod(SHORT_FRESH, {
      now: () => clock,
      scheduleRefreshes: (startGathered) => {
        windows.push(startGathered);
        return () => undefined;
      },
    });
    const { state, load } = origin('{"v":1}');
    const keys = Array.from({ length: 20 }, (_, i) => `listing:gathered:${i}`);
    for (const key of keys) await cache.read(key, ['listings'], load);
    clock += 150;
    state.body = '{"v":2}';

    const writes = vi.spyOn(redis.stream, 'write');
    for (const key of keys) {
      expect((await cache.read(key, ['listings'], load)).stale).toBe(true);
      await sleep(1);
    }
    // One gathering window held all twenty; closing it starts them together.
    expect(windows).toHaveLength(1);
    expect(state.calls).toBe(20);
    windows[0]?.();
    await vi.waitFor(async () => {
      const reads = await Promise.all(keys.map((key) => cache.read(key, ['listings'], load)));
      expect(reads.every((read) => read.response.body.toString() === '{"v":2}')).toBe(true);
    }, { timeout: 3_000, interval: 20 });
    expect(state.calls).toBe(40);
    // Started one at a time, these twenty refreshes took 36 writes (lock, lookup, fill, unlock);
    // started together, the locks, the lookups and the fills with their unlocks are a write each.
    expect(writes.mock.calls.length).toBeLessThan(12);
  });

  it('when the near cache re-checks a copy Redis still holds, then it keeps serving the same copy', async () => {
    const { cache, registry } = await pod({ CACHE_NEAR_TTL_MS: '100' });
    const { load } = origin('{"id":13}', 5);
    const first = await cache.read('product:13', ['product:13'], load);
    await sleep(120);
    const hitsBefore = await metricValue(registry, 'catalog_cache_lookups_total', { tier: 'redis', result: 'hit' });
    expect((await cache.read('product:13', ['product:13'], load)).response).toBe(first.response);
    await vi.waitFor(async () => {
      expect(await metricValue(registry, 'catalog_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBe(hitsBefore + 1);
    }, { timeout: 2_000, interval: 10 });
    const after = await cache.read('product:13', ['product:13'], load);
    expect(after.tier).toBe('near');
    expect(after.response).toBe(first.response);
  });

  it('when an entry is older than maxStaleMs, then it is not served while the origin answers', async () => {
    const env = { CACHE_FRESH_TTL_MS: '50', CACHE_MAX_STALE_MS: '200', CACHE_STALE_IF_ERROR_MS: '5000' };
    const withRedis = await pod(env);
    const embedded = createCatalogCache({ settings: settings(env), schemaVersion: 1 });
    caches.push(embedded);
    for (const cache of [withRedis.cache, embedded]) {
      const { state, load } = origin('price 100');
      await cache.read('product:2', ['product:2'], load);
      await sleep(260);
      state.body = 'price 90';
      const read = await cache.read('product:2', ['product:2'], load);
      expect(read.response.body.toString()).toBe('price 90');
      expect(read.stale).toBe(false);
      expect(read.tier).toBe('origin');
    }
    // The Redis copy outlives maxStaleMs (for origin failures) but not staleIfErrorMs.
    const ttl = await admin.pttl(createKeySpace(keyPrefix, 1).entry('product:2'));
    expect(ttl).toBeGreaterThan(200);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('when instance A invalidates a tag, then instance B stops serving the old body from its near cache and from Redis', async () => {
    const a = await pod();
    const b = await pod({ CACHE_NEAR_TTL_MS: '30000' });
    const product = origin('{"stock":5}');
    const other = origin('{"other":true}');
    await b.cache.read('product:7', ['product:7'], product.load);
    await b.cache.read('product:8', ['product:8'], other.load);
    expect((await a.cache.read('product:7', ['product:7'], product.load)).tier).toBe('redis');
    expect((await b.cache.read('product:7', ['product:7'], product.load)).tier).toBe('near');

    product.state.body = '{"stock":0}';
    await a.cache.invalidate(['product:7']);

    await vi.waitFor(
      async () => expect((await b.cache.read('product:7', ['product:7'], product.load)).response.body.toString()).toBe('{"stock":0}'),
      { timeout: 2_000, interval: 10 },
    );
    expect(product.state.calls).toBe(2);
    // A's near copy was dropped locally and Redis now holds the new entry: no further load.
    expect((await a.cache.read('product:7', ['product:7'], product.load)).response.body.toString()).toBe('{"stock":0}');
    expect(product.state.calls).toBe(2);
    // Untouched tags keep their entries.
    expect((await b.cache.read('product:8', ['product:8'], other.load)).tier).toBe('near');
    expect(other.state.calls).toBe(1);
  });

  it('when a process with no near cache and no subscriber invalidates a tag, then a pod stops serving the old body from both tiers', async () => {
    const b = await pod({ CACHE_NEAR_TTL_MS: '30000' });
    const product = origin('{"stock":5}');
    await b.cache.read('product:31', ['product:31'], product.load);
    expect((await b.cache.read('product:31', ['product:31'], product.load)).tier).toBe('near');

    // What an indexer would hold: a Redis client and the invalidator, nothing else. Not in
    // `clients`: this test disconnects it itself.
    const indexerRedis = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
    const invalidator = buildInvalidator(settings(), indexerRedis);
    try {
      expect(await waitForRedisReady(indexerRedis, 5_000)).toBe(true);
      const keys = createKeySpace(keyPrefix, 1);
      expect((await admin.pubsub('NUMSUB', keys.invalidationChannel))[1]).toBe(1);

      product.state.body = '{"stock":0}';
      await invalidator.invalidate(['product:31', 'product:31']);
      await vi.waitFor(
        async () => expect((await b.cache.read('product:31', ['product:31'], product.load)).response.body.toString()).toBe('{"stock":0}'),
        { timeout: 2_000, interval: 10 },
      );
      expect(product.state.calls).toBe(2);
      // One bump per tag, its counter outliving any entry that could carry the old generation.
      expect(await admin.get(keys.tag('product:31'))).toBe('1');
      const { staleIfErrorMs, lockTtlMs } = settings();
      expect(await admin.pttl(keys.tag('product:31'))).toBeGreaterThan(2 * staleIfErrorMs);
      expect(await admin.pttl(keys.tag('product:31'))).toBeLessThanOrEqual(2 * staleIfErrorMs + lockTtlMs);

      // Redis unreachable: the caller learns it (and retries), rather than pods serving the old body on.
      indexerRedis.disconnect();
      await expect(invalidator.invalidate(['product:31'])).rejects.toThrow();
    } finally {
      invalidator.close();
      indexerRedis.disconnect();
    }
  });

  it('when a batch of changes names more tags than one transaction holds, then every tag is bumped and every pod hears of each', async () => {
    const indexerRedis = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
    const invalidator = buildInvalidator(settings(), indexerRedis);
    const listener = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
    try {
      expect(await waitForRedisReady(indexerRedis, 5_000)).toBe(true);
      const keys = createKeySpace(keyPrefix, 1);
      const heard: string[] = [];
      await listener.subscribe(keys.invalidationChannel);
      listener.on('message', (_channel, message: string) => heard.push(...(JSON.parse(message) as string[])));
      const tags = Array.from({ length: 2 * TAGS_PER_TRANSACTION + 3 }, (_, n) => `category:bulk-${n}`);
      await invalidator.invalidate(tags);
      expect(await admin.mget(...tags.map((tag) => keys.tag(tag)))).toEqual(tags.map(() => '1'));
      await vi.waitFor(() => expect(new Set(heard)).toEqual(new Set(tags)), { timeout: 2_000 });
    } finally {
      invalidator.close();
      indexerRedis.disconnect();
      listener.disconnect();
    }
  });

  it('when a near copy is due for its Redis check, then it is still served while one background lookup asks, and dropped from trust if Redis disowns it', async () => {
    const { cache, registry } = await pod({ CACHE_NEAR_TTL_MS: '200' });
    const { state, load } = origin('{"id":12,"price":1}', 5);
    await cache.read('product:12', ['product:12'], load);
    // Invalidated in Redis without the pub/sub message (a subscriber that was reconnecting).
    await admin.incr(createKeySpace(keyPrefix, 1).tag('product:12'));
    state.body = '{"id":12,"price":2}';
    await sleep(250);

    const lookupsBefore = await metricValue(registry, 'catalog_cache_lookups_total', { tier: 'redis', result: 'hit' });
    const during = await Promise.all(Array.from({ length: 10 }, () => cache.read('product:12', ['product:12'], load)));
    expect(during.every((read) => read.tier === 'near' && read.response.body.toString() === '{"id":12,"price":1}')).toBe(true);
    await vi.waitFor(async () => {
      const next = await cache.read('product:12', ['product:12'], load);
      expect(next.response.body.toString()).toBe('{"id":12,"price":2}');
    }, { timeout: 2_000, interval: 10 });
    expect(state.calls).toBe(2);
    expect(await metricValue(registry, 'catalog_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBe(lookupsBefore);

    // Past twice the near TTL the copy is not served before Redis has answered.
    await sleep(450);
    await admin.incr(createKeySpace(keyPrefix, 1).tag('product:12'));
    state.body = '{"id":12,"price":3}';
    expect((await cache.read('product:12', ['product:12'], load)).response.body.toString()).toBe('{"id":12,"price":3}');
  });

  it('when an older fill completes after a newer one, then the stored entry keeps the newer body', async () => {
    const keys = createKeySpace(keyPrefix, 1);
    const store = createEntryStore(admin, keys);
    const newer = toCachedResponse({ status: 200, body: Buffer.from('newer') }, ['product:3'], 2_000_000);
    const older = toCachedResponse({ status: 200, body: Buffer.from('older') }, ['product:3'], 1_000_000);
    expect(await store.write('product:3', { response: newer, generations: [0] }, 10_000)).toBe(true);
    expect(await store.write('product:3', { response: older, generations: [0] }, 10_000)).toBe(false);
    expect((await store.get('product:3', ['product:3'])).entry?.response.body.toString()).toBe('newer');
  });

  it('when a slow lock holder finishes after a newer fill by the pod that took over its lock, then its older fill is refused', async () => {
    const a = await pod({ CACHE_LOCK_TTL_MS: '300' });
    const b = await pod({ CACHE_LOCK_TTL_MS: '300' });
    const reader = await pod({ CACHE_NEAR_ENABLED: 'false' });
    const slow = origin('old', 0);
    const fast = origin('new', 10);
    const slowLoading = deferred();
    const slowFinishes = deferred();
    slow.state.onCall = slowLoading.resolve;
    slow.state.gate = slowFinishes.promise;

    const slowRead = a.cache.read('product:4', ['product:4'], slow.load);
    // A holds the lock and is loading; B waits out its 300 ms lock, takes it over and fills first.
    await slowLoading.promise;
    const takeover = await b.cache.read('product:4', ['product:4'], fast.load);
    expect(takeover.response.body.toString()).toBe('new');
    slowFinishes.resolve();
    expect((await slowRead).response.body.toString()).toBe('old');

    expect((await reader.cache.read('product:4', ['product:4'], fast.load)).response.body.toString()).toBe('new');
    expect(await metricValue(a.registry, 'catalog_cache_fill_conflicts_total')).toBe(1);
  });

  it('when a lock holder never fills, then others wait about the lock TTL and then load themselves', async () => {
    // This pod would give up waiting only after 6 s (its lock TTL and a second); the dead pod's lock lives 500 ms.
    const { cache, registry } = await pod({ CACHE_LOCK_TTL_MS: '5000' });
    const lockKey = createKeySpace(keyPrefix, 1).lock('product:5');
    await admin.set(lockKey, 'dead-pod', 'PX', 500, 'NX');
    const { state, load } = origin('{"id":5}', 5);
    let lockAtLoad: Promise<string | null> | null = null;
    state.onCall = () => (lockAtLoad = admin.get(lockKey));

    const started = Date.now();
    const reads = await Promise.all(Array.from({ length: 20 }, () => cache.read('product:5', ['product:5'], load)));
    const elapsed = Date.now() - started;

    expect(reads.every((read) => read.response.body.toString() === '{"id":5}')).toBe(true);
    expect(state.calls).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(400);
    // It loaded once the dead pod's lock had expired, under a lock of its own, not by giving up.
    expect(await lockAtLoad).not.toBe('dead-pod');
    expect(await lockAtLoad).not.toBeNull();
    expect(await metricValue(registry, 'catalog_cache_lock_acquisitions_total', { result: 'acquired' })).toBe(1);
    expect(await metricValue(registry, 'catalog_cache_lock_wait_timeouts_total')).toBe(0);
    expect(await metricValue(registry, 'catalog_cache_lock_acquisitions_total', { result: 'busy' })).toBeGreaterThan(0);
    expect(await metricValue(registry, 'catalog_cache_single_flight_waits_total', { scope: 'fleet' })).toBe(1);
  });

  it('when the origin answers 404, then the miss is cached for missTtlMs and reloaded after', async () => {
    // Both pods' clock moves only when the test moves it: however slow the host, the miss is young
    // until the test ages it past missTtlMs (10 s by default).
    let clock = Date.now();
    const now = () => clock;
    const a = await pod({}, { now });
    const b = await pod({ CACHE_NEAR_ENABLED: 'false' }, { now });
    const { state, load } = origin('{"error":"not found"}', 5);
    state.status = 404;

    const first = await Promise.all(Array.from({ length: 50 }, () => a.cache.read('product:404', ['product:404'], load)));
    expect(first.every((read) => read.response.status === 404)).toBe(true);
    for (let i = 0; i < 20; i++) expect((await b.cache.read('product:404', ['product:404'], load)).response.status).toBe(404);
    expect(state.calls).toBe(1);

    clock += a.cache.freshness.missTtlMs + 50;
    state.status = 200;
    state.body = '{"id":404}';
    const after = await a.cache.read('product:404', ['product:404'], load);
    expect(after.response.status).toBe(200);
    expect(state.calls).toBe(2);
  });

  it('when the loader fails and a copy past maxStaleMs exists, then the stale copy is served', async () => {
    const { cache, registry } = await pod({ CACHE_FRESH_TTL_MS: '50', CACHE_MAX_STALE_MS: '150', CACHE_STALE_IF_ERROR_MS: '10000' });
    const { state, load } = origin('last good');
    await cache.read('product:6', ['product:6'], load);
    await sleep(200);
    state.fail = new Error('postgres down');
    const read = await cache.read('product:6', ['product:6'], load);
    expect(read.stale).toBe(true);
    expect(read.response.body.toString()).toBe('last good');
    expect(await metricValue(registry, 'catalog_cache_stale_served_total', { reason: 'origin_error' })).toBe(1);
  });

  it('when the loader fails after an invalidation, then the invalidated copy is served stale rather than an error', async () => {
    const a = await pod();
    const b = await pod({ CACHE_NEAR_ENABLED: 'false' });
    const { state, load } = origin('before invalidation');
    await a.cache.read('listing:9', ['category:9'], load);
    await a.cache.invalidate(['category:9']);
    state.fail = new Error('postgres down');
    const read = await b.cache.read('listing:9', ['category:9'], load);
    expect(read).toMatchObject({ stale: true, tier: 'redis' });
    expect(read.response.body.toString()).toBe('before invalidation');
    state.fail = null;
    state.body = 'after invalidation';
    expect((await b.cache.read('listing:9', ['category:9'], load)).response.body.toString()).toBe('after invalidation');
  });

  it('when the loader fails and nothing is cached, then the loader error is thrown unchanged', async () => {
    const { cache } = await pod();
    const { state, load } = origin('never');
    const failure = new Error('postgres down');
    state.fail = failure;
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.read('product:10', ['product:10'], load)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected') expect(result.reason).toBe(failure);
    }
    expect(state.calls).toBe(1);
  });

  it('when a background refresh fails, then the stale copy keeps being served and nothing rejects', async () => {
    const { cache } = await pod({ CACHE_FRESH_TTL_MS: '50', CACHE_MAX_STALE_MS: '5000', CACHE_STALE_IF_ERROR_MS: '10000', CACHE_NEAR_TTL_MS: '20' });
    const { state, load } = origin('v1');
    await cache.read('product:11', ['product:11'], load);
    await sleep(80);
    state.fail = new Error('postgres down');
    for (let i = 0; i < 5; i++) {
      const read = await cache.read('product:11', ['product:11'], load);
      expect(read).toMatchObject({ stale: true });
      expect(read.response.body.toString()).toBe('v1');
      await sleep(30);
    }
    expect(state.calls).toBeGreaterThan(1);
  });

  it('when two caches share one registry, then metrics are registered once and both count', async () => {
    const registry = new Registry();
    const first = await pod({}, { metrics: registry });
    const second = await pod({}, { metrics: registry });
    const { load } = origin('{}', 1);
    await first.cache.read('product:12', ['product:12'], load);
    await second.cache.read('product:12', ['product:12'], load);
    expect(await metricValue(registry, 'catalog_cache_loads_total', { result: 'ok' })).toBe(1);
    expect(await metricValue(registry, 'catalog_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBe(1);
    expect(await metricValue(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(0);
  });
});

describe('Redis round trips', () => {
  it('when many entries are looked up in one event-loop turn, then they go as one pipeline and each gets its own entry', async () => {
    // Not in clients: this test disconnects it itself.
    const redis = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
    expect(await waitForRedisReady(redis, 5_000)).toBe(true);
    const guard = createRedisGuard(redis, 2_000);
    const store = createEntryStore(redis, createKeySpace(keyPrefix, 1), guard);
    const ids = Array.from({ length: 30 }, (_, i) => i + 1);
    for (const id of ids) {
      const response = toCachedResponse({ status: 200, body: Buffer.from(`{"id":${id}}`) }, [`product:${id}`], 1_000 + id);
      expect(await store.write(`product:${id}`, { response, generations: [0] }, 10_000)).toBe(true);
    }
    await admin.incr(createKeySpace(keyPrefix, 1).tag('product:7'));

    const pipelines = vi.spyOn(redis, 'pipeline');
    const found = await Promise.all([...ids, 999].map((id) => store.get(`product:${id}`, [`product:${id}`])));
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(guard.breaker.stats.fires).toBe(1);
    ids.forEach((id, i) => expect(found[i]?.entry?.response.body.toString()).toBe(`{"id":${id}}`));
    expect(found[6]?.generations).toEqual([1]);
    expect(found[30]).toEqual({ entry: null, generations: [0] });

    // A failed pipeline fails each lookup in it and is one failure to the breaker.
    redis.disconnect();
    const failed = await Promise.allSettled(ids.slice(0, 3).map((id) => store.get(`product:${id}`, [`product:${id}`])));
    expect(failed.every((result) => result.status === 'rejected')).toBe(true);
    expect(guard.breaker.stats.failures).toBe(1);
    guard.shutdown();
  });

  it('when a reader waits for a fill, then only that key\'s channel is subscribed, the fill wakes it, and the channel is dropped after', async () => {
    const keys = createKeySpace(keyPrefix, 1);
    const subscriberClient = createRedisClient(REDIS_URL, { commandTimeoutMs: 2_000 });
    clients.push(subscriberClient);
    const subscriber = createCacheSubscriber({ redis: subscriberClient, keys, log: silentLog, onInvalidate: () => undefined });
    try {
      const store = createEntryStore(admin, keys);
      const subscribers = async (key: string) => (await admin.pubsub('NUMSUB', keys.fillChannel(key)))[1];

      const started = Date.now();
      const woken = subscriber.waitForFill('product:21', 10_000);
      await vi.waitFor(async () => expect(await subscribers('product:21')).toBe(1), { timeout: 2_000, interval: 10 });
      expect(await subscribers('product:22')).toBe(0);
      const response = toCachedResponse({ status: 200, body: Buffer.from('{"id":21}') }, ['product:21'], Date.now());
      await store.write('product:21', { response, generations: [0] }, 10_000);
      await woken;
      expect(Date.now() - started).toBeLessThan(5_000);
      await vi.waitFor(async () => expect(await subscribers('product:21')).toBe(0), { timeout: 2_000, interval: 10 });
    } finally {
      await subscriber.close();
    }
  });
});

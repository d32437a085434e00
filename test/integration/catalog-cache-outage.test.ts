import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createCatalogCache } from '../../src/cache/catalog-cache.ts';
import type { CacheRead, CatalogCache, OriginResponse } from '../../src/cache/catalog-cache.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { cacheSettings } from '../support/cache-settings.ts';
import { startRedisServer } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';

// A redis-server of our own, so it can be killed without disturbing the shared one.
let server: RedisServer | null = null;
let client: Redis | null = null;
let cache: CatalogCache | null = null;

afterAll(async () => {
  await cache?.close();
  client?.disconnect();
  await server?.stop();
});

async function breakerState(registry: Registry): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('catalog_breaker_state')?.get();
  return metric?.values.find((value) => value.labels.dependency === 'redis')?.value;
}

/**
 * A cache on `redis` with the near tier off, so every read goes to Redis or the origin and the
 * outage is actually exercised, and a breaker quick enough for a test to see it open and close.
 */
function cacheWithoutNearTier(redis: Redis, keyPrefix: string, commandTimeoutMs: number): { cache: CatalogCache; registry: Registry } {
  const registry = new Registry();
  const created = createCatalogCache({
    settings: cacheSettings({ REDIS_KEY_PREFIX: keyPrefix, CACHE_NEAR_ENABLED: 'false', REDIS_COMMAND_TIMEOUT_MS: String(commandTimeoutMs) }),
    redis,
    schemaVersion: 1,
    redisBreaker: { resetTimeoutMs: 300, volumeThreshold: 5 },
    metrics: registry,
  });
  return { cache: created, registry };
}

describe('catalog cache when Redis dies', () => {
  it('when redis-server is killed mid-load, then every read is answered with the right body, and after a restart reads use Redis again', async () => {
    server = await startRedisServer();
    const port = server.port;
    client = createRedisClient(server.url, { commandTimeoutMs: 250, connectTimeoutMs: 250, maxReconnectDelayMs: 200 });
    expect(await waitForRedisReady(client, 5_000)).toBe(true);
    const { cache: active, registry } = cacheWithoutNearTier(client, 'catalog-test:outage:', 250);
    cache = active;

    let loads = 0;
    const loadFor = (id: number) => async (): Promise<OriginResponse> => {
      loads++;
      await sleep(3);
      return { status: 200, body: Buffer.from(`{"id":${id}}`) };
    };
    const readOne = (id: number): Promise<CacheRead> => active.read(`product:${id}`, [`product:${id}`], loadFor(id));

    // Warm half the keys so reads hit Redis when it dies.
    await Promise.all(Array.from({ length: 25 }, (_, id) => readOne(id)));

    // 2,000 reads over about a second; the server is SIGKILLed 400 ms in.
    const reads: { id: number; read: Promise<CacheRead> }[] = [];
    const killed = sleep(400).then(() => server?.stop());
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 100; i++) {
        const id = (wave * 100 + i) % 50;
        reads.push({ id, read: readOne(id) });
      }
      await sleep(50);
    }
    await killed;
    const settled = await Promise.allSettled(reads.map((entry) => entry.read));
    const rejected = settled.filter((result) => result.status === 'rejected');
    expect(rejected).toEqual([]);
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') expect(result.value.response.body.toString()).toBe(`{"id":${reads[i]?.id}}`);
    });
    expect(loads).toBeGreaterThan(25); // the origin took over

    server = await startRedisServer(port);
    await vi.waitFor(
      async () => {
        await readOne(1_000);
        expect((await readOne(1_000)).tier).toBe('redis');
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(await breakerState(registry)).toBe(0);
  });

  it('when Redis stops answering, then reads fall back within the command timeout, the breaker opens, and it closes once Redis answers again', async () => {
    await cache?.close();
    client?.disconnect();
    server ??= await startRedisServer();
    client = createRedisClient(server.url, { commandTimeoutMs: 100, maxReconnectDelayMs: 200 });
    const admin = createRedisClient(server.url, { commandTimeoutMs: 2_000 });
    expect(await waitForRedisReady(client, 5_000)).toBe(true);
    expect(await waitForRedisReady(admin, 5_000)).toBe(true);
    const { cache: active, registry } = cacheWithoutNearTier(client, 'catalog-test:outage-pause:', 100);
    cache = active;
    const readOne = (id: number): Promise<CacheRead> =>
      active.read(`listing:${id}`, ['listings'], async () => ({ status: 200, body: Buffer.from(`[${id}]`) }));
    await Promise.all(Array.from({ length: 10 }, (_, id) => readOne(id)));

    // Connected but silent: every command hangs until its timeout.
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    let slowest = 0;
    let sawOpen = false;
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      const started = Date.now();
      // Requests arriving a millisecond apart: each turn's lookups are one round trip, and the
      // breaker counts round trips.
      const reads: Promise<CacheRead>[] = [];
      for (let i = 0; i < 20; i++) {
        reads.push(readOne(i % 10));
        await sleep(1);
      }
      const batch = await Promise.all(reads);
      slowest = Math.max(slowest, Date.now() - started);
      batch.forEach((read, i) => expect(read.response.body.toString()).toBe(`[${i % 10}]`));
      if ((await breakerState(registry)) === 2) sawOpen = true;
    }
    expect(slowest).toBeLessThan(800);
    expect(sawOpen).toBe(true);

    await vi.waitFor(
      async () => {
        expect((await readOne(3)).tier).toBe('redis');
        expect(await breakerState(registry)).toBe(0);
      },
      { timeout: 10_000, interval: 100 },
    );
    admin.disconnect();
  });
});

// The cache's key layout on Redis Cluster: a cluster-enabled redis-server holding every slot refuses
// any command whose keys hash to two slots (CROSSSLOT), as a real cluster does. The cache reads,
// fills, locks and invalidates through it without one Redis error: every command it sends stays in
// one slot, because every key carries the prefix as its hash tag.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogCache, type CatalogCache, type OriginResponse } from '../../src/cache/catalog-cache.ts';
import { createKeySpace } from '../../src/cache/key-space.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { cacheSettings } from '../support/cache-settings.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';

const PREFIX = `catalog-test:${randomUUID()}:`;
let dir: string;
let server: RedisServer;
let redis: Redis;
let cache: CatalogCache | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catalog-cluster-'));
  server = await startRedisServer(undefined, 5_000, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir]);
  redis = createRedisClient(server.url, { commandTimeoutMs: 1_000 });
  expect(await waitForRedisReady(redis, 5_000)).toBe(true);
  await redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  for (let i = 0; i < 100 && !(await redis.call('CLUSTER', 'INFO'))?.toString().includes('cluster_state:ok'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
});

afterAll(async () => {
  await cache?.close();
  redis?.disconnect();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function total(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;
}

describe('when the cache runs on a Redis Cluster node', () => {
  it('then the node refuses keys of two slots in one command, as a cluster does', async () => {
    await expect(redis.mget('catalog-test:a', 'catalog-test:b')).rejects.toThrow(/CROSSSLOT/);
  });

  it('then an entry, its tags and its lock hash to one slot', async () => {
    const keys = createKeySpace('catalog:', 1);
    const names = [keys.entry('product:1'), keys.entry('listing:shoes?page=2'), keys.tag('product:1'), keys.tag('category:9'), keys.lock('product:1')];
    const slots = await Promise.all(names.map((name) => redis.call('CLUSTER', 'KEYSLOT', name)));
    expect(new Set(slots).size).toBe(1);
  });

  it('then reads, fills, fill locks and invalidations of several tags work with no Redis error', async () => {
    const registry = new Registry();
    // No near tier: every read asks Redis.
    cache = createCatalogCache({ settings: cacheSettings({ REDIS_KEY_PREFIX: PREFIX, CACHE_NEAR_ENABLED: 'false' }), redis, schemaVersion: 1, metrics: registry });
    let version = 1;
    const load = async (): Promise<OriginResponse> => ({ status: 200, body: Buffer.from(`{"version":${version}}`) });
    const tags = ['product:1', 'category:3', 'brand:7'];

    expect((await cache.read('product:1', tags, load)).tier).toBe('origin');
    const hit = await cache.read('product:1', tags, load);
    expect(hit.tier).toBe('redis');
    expect(await total(registry, 'catalog_cache_lock_acquisitions_total')).toBeGreaterThan(0);

    version = 2;
    await cache.invalidate(['category:3', 'brand:7', 'product:1']);
    const after = await cache.read('product:1', tags, load);
    expect(after.response.body.toString()).toBe('{"version":2}');
    expect((await cache.read('product:1', tags, load)).tier).toBe('redis');
    expect(await total(registry, 'catalog_cache_redis_errors_total')).toBe(0);
  });
});

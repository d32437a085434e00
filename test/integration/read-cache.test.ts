// The read path end to end: HTTP caching, fleet-wide single-flight over real Redis, invalidation
// across instances, and serving through Redis and PostgreSQL outages.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { invalidateProduct } from '../../src/catalog/product-invalidation.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { testDatabaseUrl } from '../support/database.ts';
import { startPostgresStatementProxy, type PostgresStatementProxy } from '../support/postgres-statements.ts';
import { deleteKeysWithPrefix, startRedisServer } from '../support/redis-server.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
const admin = new Redis(REDIS_URL);
const started: TestCatalog[] = [];

async function instance(env: Record<string, string> = {}, databaseUrl?: string): Promise<TestCatalog> {
  const catalog = await startTestCatalog({ databaseUrl, env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env } });
  started.push(catalog);
  return catalog;
}

/** Reads again until `done` holds, for at most 5 s (room for a slow host, not a window the test measures); the last read. */
async function readUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

async function loads(catalog: TestCatalog, result = 'ok'): Promise<number> {
  const metric = await catalog.readPath.metrics.getSingleMetric('catalog_cache_loads_total')?.get();
  return metric?.values.find((value) => value.labels.result === result)?.value ?? 0;
}

afterAll(async () => {
  await Promise.all(started.map((catalog) => catalog.close()));
  await deleteKeysWithPrefix(admin, prefix);
  admin.disconnect();
});

describe('when a storefront or a CDN revalidates', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await instance();
  });

  it('then responses carry a strong ETag, Cache-Control with stale-while-revalidate and stale-if-error, and surrogate keys', async () => {
    const response = await catalog.app.inject('/products?category=footwear&sort=price_asc&limit=3');
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const lifetimes = /^public, max-age=(\d+), stale-while-revalidate=(\d+), stale-if-error=(\d+)$/.exec(String(response.headers['cache-control']));
    const [maxAge, revalidate, onError] = (lifetimes ?? []).slice(1).map(Number);
    // The page's own fresh span (15-30 s, spread per page as the cache spreads it), then stale up
    // to the 60 s price bound, or up to 10 min on errors.
    expect(maxAge).toBeGreaterThanOrEqual(14);
    expect(maxAge).toBeLessThanOrEqual(29);
    expect(Number(maxAge) + Number(revalidate)).toBe(59);
    expect(Number(maxAge) + Number(onError)).toBe(599);
    const keys = String(response.headers['surrogate-key']).split(' ');
    expect(keys).toContain('category:footwear');
    for (const item of response.json().items) expect(keys).toContain(`product:${item.id}`);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('then a matching If-None-Match gets a 304 without a body, and a different one the full page', async () => {
    const first = await catalog.app.inject('/products/1');
    const etag = String(first.headers.etag);
    const again = await catalog.app.inject({ url: '/products/1', headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    const other = await catalog.app.inject({ url: '/products/1', headers: { 'if-none-match': '"something-else"' } });
    expect(other.statusCode).toBe(200);
    expect(other.json().id).toBe(1);
  });

  it('then the second read of a page is a near-cache hit with the same bytes', async () => {
    const first = await catalog.app.inject('/categories');
    const second = await catalog.app.inject('/categories');
    expect(first.headers['x-cache']).toMatch(/MISS|HIT-REDIS/);
    expect(second.headers['x-cache']).toBe('HIT-NEAR');
    expect(second.body).toBe(first.body);
  });

  it('then two spellings of one listing share one cached page, each answered from memory the second time', async () => {
    const first = await catalog.app.inject('/products?sort=name&category=watches&limit=7');
    const reordered = await catalog.app.inject('/products?limit=7&category=watches&sort=name');
    expect(reordered.headers.etag).toBe(first.headers.etag);
    expect(reordered.headers['x-cache']).toBe('HIT-NEAR');
    // The same URL again: the same bytes from memory (over a socket the hot path would answer it; see hot-path.test.ts).
    const again = await catalog.app.inject('/products?sort=name&category=watches&limit=7');
    expect(again.headers['x-cache']).toBe('HIT-NEAR');
    expect(again.body).toBe(first.body);
    expect(again.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('then a URL that failed validation is never answered from memory', async () => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await catalog.app.inject('/products?limit=500');
      expect(response.statusCode).toBe(400);
      expect(response.json().type).toBe('/problems/invalid-parameter');
    }
  });

  it('then requests for unknown ids reach PostgreSQL once per id, not once per request', async () => {
    const before = await loads(catalog, 'not_found');
    const responses = await Promise.all(Array.from({ length: 50 }, () => catalog.app.inject('/products/987654321')));
    expect(responses.every((response) => response.statusCode === 404)).toBe(true);
    expect(responses[0]?.json().type).toBe('/problems/product-not-found');
    expect(await loads(catalog, 'not_found')).toBe(before + 1);
  });

  it('then /metrics exposes request durations, cache lookups, single-flight, locks, breakers and event-loop delay', async () => {
    const response = await catalog.app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    for (const name of [
      'http_request_duration_seconds_bucket{',
      'catalog_cache_lookups_total{',
      'catalog_cache_single_flight_waits_total',
      'catalog_cache_lock_acquisitions_total',
      'catalog_breaker_state{dependency="postgres"}',
      'catalog_breaker_state{dependency="redis"}',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(response.body).toContain(name);
    }
  });
});

describe('when a hot key is cold on a fleet of two instances', () => {
  let database: PostgresStatementProxy;
  beforeAll(async () => {
    database = await startPostgresStatementProxy(testDatabaseUrl());
  });
  afterAll(async () => {
    await database.close();
  });

  it('then 500 concurrent requests cause exactly one PostgreSQL fetch, and all get the same page', async () => {
    // Counted at the database's door: what one cold listing costs there, read alone on a third instance.
    const alone = await instance({}, database.url);
    const beforeAlone = database.statements();
    expect((await alone.app.inject('/products?category=clothing&sort=rating&limit=16')).statusCode).toBe(200);
    const statementsOfOneFetch = database.statements() - beforeAlone;
    expect(statementsOfOneFetch).toBeGreaterThan(0);

    const [a, b] = [await instance({}, database.url), await instance({}, database.url)];
    const url = `/products?category=clothing&sort=rating&limit=17`;
    const before = (await loads(a)) + (await loads(b));
    const statementsBefore = database.statements();
    const responses = await Promise.all(Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).app.inject(url)));
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    expect(new Set(responses.map((response) => response.headers.etag)).size).toBe(1);
    expect(database.statements() - statementsBefore).toBe(statementsOfOneFetch);
    expect((await loads(a)) + (await loads(b)) - before).toBe(1);
  });
});

describe('when a product changes', () => {
  it("then invalidation on one instance reaches the other's near cache at once", async () => {
    const [writer, reader] = [await instance(), await instance({ CACHE_NEAR_TTL_MS: '60000' })];
    const before = (await reader.app.inject('/products/3')).json();
    expect((await reader.app.inject('/products/3')).headers['x-cache']).toBe('HIT-NEAR');
    const sku = before.variants[0].sku;
    try {
      await writer.database.primary.query('UPDATE variants SET price_minor = price_minor + 100 WHERE sku = $1', [sku]);
      await invalidateProduct(writer.readPath.cache, writer.readPath.placements, 3);
      // Pub/sub delivery to the other instance takes a moment; the near TTL is a minute, so only the
      // invalidation can bring the new price within the wait.
      const after = await readUntil(
        async () => (await reader.app.inject('/products/3')).json(),
        (page) => page.version !== before.version,
      );
      expect(after.variants[0].price).toBe(before.variants[0].price + 100);
    } finally {
      await writer.database.primary.query('UPDATE variants SET price_minor = price_minor - 100 WHERE sku = $1', [sku]);
      await invalidateProduct(writer.readPath.cache, writer.readPath.placements, 3);
    }
  });

  it('then past the fresh TTL the old page is served once, stale, while one refresh fetches the new one', async () => {
    const catalog = await instance({ CACHE_FRESH_TTL_MS: '300', CACHE_NEAR_TTL_MS: '50' });
    const first = (await catalog.app.inject('/products/4')).json();
    const sku = first.variants[0].sku;
    try {
      await catalog.database.primary.query('UPDATE variants SET stock = stock + 7 WHERE sku = $1', [sku]);
      await new Promise((resolve) => setTimeout(resolve, 350));
      const stale = await catalog.app.inject('/products/4');
      expect(stale.headers['x-cache']).toBe('STALE');
      expect(stale.headers['cache-control']).toMatch(/max-age=0/);
      expect(stale.json().variants[0].stock).toBe(first.variants[0].stock);
      // The refresh runs in the background; the copy could only expire by itself after the 60 s max stale.
      const fresh = await readUntil(
        async () => (await catalog.app.inject('/products/4')).json(),
        (page) => page.variants[0].stock !== first.variants[0].stock,
      );
      expect(fresh.variants[0].stock).toBe(first.variants[0].stock + 7);
    } finally {
      await catalog.database.primary.query('UPDATE variants SET stock = stock - 7 WHERE sku = $1', [sku]);
    }
  });
});

describe('when Redis dies under load', () => {
  it('then every request is still answered 200 from PostgreSQL, and Redis is used again once it is back', async () => {
    const redis = await startRedisServer();
    const catalog = await startTestCatalog({ env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, CACHE_NEAR_ENABLED: 'false' } });
    started.push(catalog);
    try {
      const listed = await catalog.database.read.query<{ id: number }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT 40`);
      const urls = listed.rows.map((row) => `/products/${row.id}`);
      const statuses: number[] = [];
      const load = (async () => {
        for (let round = 0; round < 50; round += 1) {
          const batch = await Promise.all(urls.map((url) => catalog.app.inject(url)));
          statuses.push(...batch.map((response) => response.statusCode));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      await vi.waitUntil(() => statuses.length >= 200, { timeout: 10_000, interval: 5 }); // under load: 5 of 50 rounds answered
      await redis.stop();
      await load;
      expect(statuses).toHaveLength(2000);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      // The pod stays in the Service: it answers from PostgreSQL.
      const ready = await catalog.app.inject('/health/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'degraded', postgres: 'up', redis: 'down' });

      const again = await startRedisServer(redis.port);
      try {
        let tier = '';
        for (let attempt = 0; attempt < 100 && tier !== 'HIT-REDIS'; attempt += 1) {
          await catalog.app.inject(urls[0] as string);
          tier = String((await catalog.app.inject(urls[0] as string)).headers['x-cache']);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(tier).toBe('HIT-REDIS');
      } finally {
        await again.stop();
      }
    } finally {
      await redis.stop();
    }
  });
});

describe('when PostgreSQL is unreachable', () => {
  it('then cached pages are served stale with 200, an uncached one is a 503 problem, the pod stays ready, and all recover', async () => {
    const target = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target);
    viaProxy.port = String(proxy.port);
    const catalog = await instance(
      { CACHE_FRESH_TTL_MS: '100', CACHE_MAX_STALE_MS: '200', CACHE_NEAR_TTL_MS: '50', DATABASE_CONNECT_TIMEOUT_MS: '300' },
      viaProxy.toString(),
    );
    try {
      expect((await catalog.app.inject('/products/6')).statusCode).toBe(200);
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the price bound: a refetch is due

      const cached = await catalog.app.inject('/products/6');
      expect(cached.statusCode).toBe(200);
      expect(cached.headers['x-cache']).toBe('STALE');
      expect(cached.json().id).toBe(6);

      const uncached = await catalog.app.inject('/products/7');
      expect(uncached.statusCode).toBe(503);
      expect(uncached.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(uncached.headers['retry-after'])).toBeGreaterThan(0);
      expect(uncached.json().type).toBe('/problems/service-unavailable');

      // Readiness holds while Redis answers: failing it would take every pod, and every cached page, out of the Service.
      const degraded = await catalog.app.inject('/health/ready');
      expect(degraded.statusCode).toBe(200);
      expect(degraded.json()).toEqual({ status: 'degraded', postgres: 'down', redis: 'up' });

      // Further failures open the breaker: reads fail fast instead of waiting for connections.
      for (let id = 8; id < 16; id += 1) expect((await catalog.app.inject(`/products/${id}`)).statusCode).toBe(503);
      expect((await catalog.app.inject('/metrics')).body).toContain('catalog_breaker_state{dependency="postgres"} 2');

      await proxy.restore();
      let status = 0;
      for (let attempt = 0; attempt < 60 && status !== 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await catalog.app.inject('/products/7')).statusCode;
      }
      expect(status).toBe(200);
      expect((await catalog.app.inject('/metrics')).body).toContain('catalog_breaker_state{dependency="postgres"} 0');
      expect((await catalog.app.inject('/products/6')).headers['x-cache']).not.toBe('STALE');
      expect((await catalog.app.inject('/health/ready')).json()).toEqual({ status: 'ready', postgres: 'up', redis: 'up' });
    } finally {
      await proxy.close();
    }
  });
});

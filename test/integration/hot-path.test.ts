// The cache in front of Fastify only sees real sockets (inject goes around it), so these tests
// listen on a port and use fetch.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { invalidateProduct } from '../../src/catalog/product-invalidation.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
const started: { catalog: TestCatalog; url: string }[] = [];

async function listening(env: Record<string, string> = {}) {
  const catalog = await startTestCatalog({ env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env } });
  const url = await catalog.app.listen({ host: '127.0.0.1', port: 0 });
  const server = { catalog, url };
  started.push(server);
  return server;
}

async function durationCount(catalog: TestCatalog, route: string, status: string): Promise<number> {
  const metric = await catalog.readPath.metrics.getSingleMetric('http_request_duration_seconds')?.get();
  // Histogram values carry the series name (_bucket, _sum, _count) though the type does not say so.
  const count = metric?.values.find((v) => (v as { metricName?: string }).metricName === 'http_request_duration_seconds_count' && v.labels.route === route && v.labels.status_code === status);
  return count?.value ?? 0;
}

afterAll(async () => {
  await Promise.all(started.map(({ catalog }) => catalog.close()));
  const admin = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(admin, prefix);
  admin.disconnect();
});

describe('when a URL answered before is asked for again over HTTP', () => {
  let server: { catalog: TestCatalog; url: string };
  beforeAll(async () => {
    server = await listening();
  });

  it('then it is answered from the cache before the framework, with the same body and headers as the route', async () => {
    const path = '/products?category=footwear&sort=price_desc&limit=5';
    const first = await fetch(server.url + path);
    const firstBody = await first.text();
    const before = await durationCount(server.catalog, '/products', '200');
    const second = await fetch(server.url + path, { headers: { 'x-request-id': 'cdn-abc.1' } });
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(firstBody);
    expect(second.headers.get('x-cache')).toBe('HIT-NEAR');
    expect(second.headers.get('x-request-id')).toBe('cdn-abc.1');
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
    for (const name of ['etag', 'cache-control', 'surrogate-key']) expect(second.headers.get(name)).toBe(first.headers.get(name));
    expect(await durationCount(server.catalog, '/products', '200')).toBe(before + 1);
  });

  it('then a matching If-None-Match is a 304 without a body', async () => {
    const first = await fetch(`${server.url}/products/2`);
    await first.arrayBuffer();
    const again = await fetch(`${server.url}/products/2`, { headers: { 'if-none-match': String(first.headers.get('etag')) } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('x-cache')).toBe('HIT-NEAR');
  });

  it('then a URL that failed validation, or another method, still goes to the routes', async () => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await fetch(`${server.url}/products?limit=0`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const post = await fetch(`${server.url}/products/2`, { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('then a product change is visible at once: the invalidated page is not served from memory', async () => {
    const path = '/products/5';
    const before = (await (await fetch(server.url + path)).json()) as { variants: { sku: string; stock: number }[] };
    const sku = before.variants[0]?.sku;
    const primary = server.catalog.database.primary;
    try {
      await primary.query('UPDATE variants SET stock = stock + 3 WHERE sku = $1', [sku]);
      await invalidateProduct(server.catalog.readPath.cache, server.catalog.readPath.placements, 5);
      const after = (await (await fetch(server.url + path)).json()) as { variants: { stock: number }[] };
      expect(after.variants[0]?.stock).toBe((before.variants[0]?.stock ?? 0) + 3);
    } finally {
      await primary.query('UPDATE variants SET stock = stock - 3 WHERE sku = $1', [sku]);
      await invalidateProduct(server.catalog.readPath.cache, server.catalog.readPath.placements, 5);
    }
  });
});

describe('when the near cache is off and Redis holds the page', () => {
  it('then the page is answered from Redis before the framework', async () => {
    const server = await listening({ CACHE_NEAR_ENABLED: 'false' });
    const first = await fetch(`${server.url}/products/9`);
    expect(first.headers.get('x-cache')).toMatch(/MISS|HIT-REDIS/);
    const body = await first.text();
    const second = await fetch(`${server.url}/products/9`);
    expect(second.headers.get('x-cache')).toBe('HIT-REDIS');
    expect(await second.text()).toBe(body);
  });
});

async function loadCount(catalog: TestCatalog): Promise<number> {
  const metric = await catalog.readPath.metrics.getSingleMetric('catalog_cache_loads_total')?.get();
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

describe.each([
  ['near cache', {}],
  ['Redis', { CACHE_NEAR_ENABLED: 'false' }],
])('when a page cached in the %s goes stale', (_tier, env) => {
  it('then the hot path serves the old page at once, starts one refresh, and the next requests get the new page', async () => {
    const server = await listening({ ...env, CACHE_FRESH_TTL_MS: '300' });
    const path = '/products/11';
    const read = async () => {
      const response = await fetch(server.url + path);
      const page = (await response.json()) as { variants: { sku: string; stock: number }[] };
      return { cache: response.headers.get('x-cache'), stock: page.variants[0]?.stock ?? -1, sku: page.variants[0]?.sku };
    };
    const before = await read();
    expect((await read()).cache).toMatch(/^HIT-/);
    const primary = server.catalog.database.primary;
    // Changed without an invalidation: only the page's age can bring the new stock in.
    await primary.query('UPDATE variants SET stock = stock + 5 WHERE sku = $1', [before.sku]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const loadsBefore = await loadCount(server.catalog);
      const stale = await Promise.all(Array.from({ length: 20 }, read));
      expect(stale.every((page) => page.cache === 'STALE' || page.stock === before.stock + 5)).toBe(true);
      expect(stale[0]).toMatchObject({ cache: 'STALE', stock: before.stock });
      await vi.waitFor(async () => expect(await read()).toMatchObject({ stock: before.stock + 5, cache: expect.stringMatching(/^HIT-/) }), { timeout: 3_000, interval: 20 });
      expect(await loadCount(server.catalog)).toBe(loadsBefore + 1);
    } finally {
      await primary.query('UPDATE variants SET stock = stock - 5 WHERE sku = $1', [before.sku]);
      await invalidateProduct(server.catalog.readPath.cache, server.catalog.readPath.placements, 11);
    }
  });
});

// The cache in front of Fastify only sees real sockets (inject goes around it), so these tests
// listen on a port and use fetch. http_hot_path_answers_total tells the hot path's answers from
// Fastify's; the same URL with an extra unknown parameter (`&v=1`) reads the same cache entry and is
// answered by the route first, so the two answers can be compared header for header.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { invalidateProduct } from '../../src/catalog/product-invalidation.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { comparableHeaders, hotPathAnswers } from '../support/hot-path-answers.ts';
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
    const hotBefore = await hotPathAnswers(server.catalog.readPath.metrics, { route: '/products', method: 'GET', status_code: '200' });
    const second = await fetch(server.url + path, { headers: { 'x-request-id': 'cdn-abc.1' } });
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(firstBody);
    expect(second.headers.get('x-cache')).toBe('HIT-NEAR');
    expect(second.headers.get('x-request-id')).toBe('cdn-abc.1');
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
    for (const name of ['etag', 'cache-control', 'surrogate-key']) expect(second.headers.get(name)).toBe(first.headers.get(name));
    expect(await durationCount(server.catalog, '/products', '200')).toBe(before + 1);
    expect(await hotPathAnswers(server.catalog.readPath.metrics, { route: '/products', method: 'GET', status_code: '200' })).toBe(hotBefore + 1);
  });

  it('then a matching If-None-Match is a 304 without a body', async () => {
    const first = await fetch(`${server.url}/products/2`);
    await first.arrayBuffer();
    const notModified = { route: '/products/:idOrSlug', method: 'GET', status_code: '304' };
    const hotBefore = await hotPathAnswers(server.catalog.readPath.metrics, notModified);
    const again = await fetch(`${server.url}/products/2`, { headers: { 'if-none-match': String(first.headers.get('etag')) } });
    expect(await hotPathAnswers(server.catalog.readPath.metrics, notModified)).toBe(hotBefore + 1);
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
    expect(await hotPathAnswers(server.catalog.readPath.metrics, { route: '/products/:idOrSlug' })).toBe(1);
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
      const hotBefore = await hotPathAnswers(server.catalog.readPath.metrics);
      const stale = await Promise.all(Array.from({ length: 20 }, read));
      expect(await hotPathAnswers(server.catalog.readPath.metrics)).toBe(hotBefore + 20);
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

/** The route's answer to a URL the hot path has not seen, then the hot path's answer to it. */
async function routeThenHotPath(server: { catalog: TestCatalog; url: string }, path: string, init: RequestInit = {}) {
  const metrics = server.catalog.readPath.metrics;
  const before = await hotPathAnswers(metrics);
  const byRoute = await fetch(server.url + path, init);
  const routeBody = await byRoute.text();
  expect(await hotPathAnswers(metrics), `the route answered ${path} first`).toBe(before);
  const byHotPath = await fetch(server.url + path, init);
  const hotBody = await byHotPath.text();
  expect(await hotPathAnswers(metrics), `the hot path answered ${path} again`).toBe(before + 1);
  expect(byHotPath.status).toBe(byRoute.status);
  expect(hotBody).toBe(routeBody);
  expect(comparableHeaders(byHotPath)).toEqual(comparableHeaders(byRoute));
  return { byRoute, byHotPath, body: hotBody };
}

const withVariant = (path: string, variant: string) => `${path}${path.includes('?') ? '&' : '?'}v=${variant}`;

describe.each([
  ['near cache', {}, 'HIT-NEAR'],
  ['Redis', { CACHE_NEAR_ENABLED: 'false' }, 'HIT-REDIS'],
])('when the route and then the hot path answer a page cached in the %s', (_tier, env, xCache) => {
  let server: { catalog: TestCatalog; url: string };
  beforeAll(async () => {
    server = await listening(env);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(['/products?category=footwear&sort=price_desc&limit=5', '/products/21', '/products/21/related?limit=4', '/categories'])(
    'then every header of their 200, 304 and HEAD answers to %s is the same',
    async (path) => {
      const first = await fetch(server.url + withVariant(path, 'first'));
      await first.arrayBuffer();
      // Both answers of a pair compute Cache-Control at the same age, even across a second boundary.
      vi.useFakeTimers({ toFake: ['Date'] });
      const ok = await routeThenHotPath(server, withVariant(path, '200'));
      expect(ok.byHotPath.headers.get('x-cache')).toBe(xCache);
      expect(ok.byHotPath.headers.get('content-length')).toBe(String(Buffer.byteLength(ok.body)));
      const etag = String(ok.byHotPath.headers.get('etag'));
      const notModified = await routeThenHotPath(server, withVariant(path, '304'), { headers: { 'if-none-match': etag } });
      expect(notModified.byHotPath.status).toBe(304);
      expect(notModified.body).toBe('');
      const head = await routeThenHotPath(server, withVariant(path, 'head'), { method: 'HEAD' });
      expect(head.byHotPath.status).toBe(200);
      expect(head.body).toBe('');
      // HEAD answers with GET's headers, Content-Length included (fetch closes the connection after a HEAD).
      const { connection: _close, ...headHeaders } = comparableHeaders(head.byHotPath);
      const { connection: _keep, 'keep-alive': _timeout, ...getHeaders } = comparableHeaders(ok.byHotPath);
      expect(headHeaders).toEqual(getHeaders);
    },
  );
});

describe('when a page has gone stale and its refresh cannot finish yet', () => {
  it("then the hot path's STALE answer is the route's, header for header", async () => {
    const server = await listening({ CACHE_FRESH_TTL_MS: '300' });
    const primary = server.catalog.database.primary;
    const { rows } = await primary.query<{ id: number }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id OFFSET 30 LIMIT 1`);
    const path = `/products/${rows[0]?.id}`;
    const first = await fetch(server.url + path);
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    // The refresh's query waits on this lock, so the page stays stale for both answers.
    const blocker = await primary.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE variants IN ACCESS EXCLUSIVE MODE');
      await new Promise((resolve) => setTimeout(resolve, 400));
      vi.useFakeTimers({ toFake: ['Date'] });
      const stale = await routeThenHotPath(server, withVariant(path, 'stale'));
      expect(stale.byRoute.headers.get('x-cache')).toBe('STALE');
      expect(stale.byHotPath.headers.get('cache-control')).toMatch(/^public, max-age=0, /);
    } finally {
      vi.useRealTimers();
      await blocker.query('ROLLBACK');
      blocker.release();
    }
  });
});

// The hot path replays remembered URLs of GET /products with attribute filters and facets: its answer
// must be the route's, byte for byte, and a URL the route refused must never be remembered. Real
// sockets (inject goes around the hot path); http_hot_path_answers_total tells the two apart.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { comparableHeaders, hotPathAnswers } from '../support/hot-path-answers.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
let catalog: TestCatalog;
let url: string;

beforeAll(async () => {
  catalog = await startTestCatalog({ env: { REDIS_URL, REDIS_KEY_PREFIX: prefix } });
  url = await catalog.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await catalog.close();
  const admin = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(admin, prefix);
  admin.disconnect();
});

const hotListings = () => hotPathAnswers(catalog.readPath.metrics, { route: '/products', method: 'GET', status_code: '200' });

describe('when a listing URL with attribute filters is asked for again', () => {
  it('then the hot path answers it with the route\'s body and headers', async () => {
    const path = '/products?category=footwear&attr.Ideal%20For=Women&attr.Color=Black&attr.Color=White&facets=attributes&limit=5';
    const first = await fetch(url + path);
    const firstBody = await first.text();
    expect(first.status).toBe(200);
    expect(JSON.parse(firstBody)).toMatchObject({ total: { estimate: expect.any(Boolean) }, facets: { attributes: expect.any(Array) } });
    const before = await hotListings();
    const second = await fetch(url + path);
    expect(await second.text()).toBe(firstBody);
    expect(await hotListings()).toBe(before + 1);
    const { 'x-cache': firstCache, ...firstHeaders } = comparableHeaders(first);
    const { 'x-cache': secondCache, ...secondHeaders } = comparableHeaders(second);
    expect([firstCache, secondCache]).toEqual(['MISS', 'HIT-NEAR']);
    expect(secondHeaders).toEqual(firstHeaders);
  });

  it('then the same filters in another order share the entry: the route answers the new URL from it, then the hot path does', async () => {
    const path = '/products?attr.Pattern=Solid&attr.Pattern=Printed&attr.Ideal+For=Women%27s&sort=price_asc&limit=4';
    const reordered = '/products?limit=4&attr.Ideal%20For=Women%27s&sort=price_asc&attr.Pattern=Printed&attr.Pattern=Solid';
    const body = await (await fetch(url + path)).text();
    const before = await hotListings();
    const viaRoute = await fetch(url + reordered);
    expect(viaRoute.headers.get('x-cache')).toBe('HIT-NEAR');
    expect(await viaRoute.text()).toBe(body);
    expect(await hotListings()).toBe(before);
    const viaHotPath = await fetch(url + reordered);
    expect(await viaHotPath.text()).toBe(body);
    expect(await hotListings()).toBe(before + 1);
  });

  it('then a refused URL (an over-long attribute name, a facet not offered) is refused every time', async () => {
    for (const path of [`/products?attr.${'N'.repeat(101)}=x`, '/products?attr.Color=Black&facets=category']) {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await fetch(url + path);
        expect(response.status, path).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
  });
});

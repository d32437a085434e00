import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(() => catalog.close());

describe('when Kubernetes probes the service', () => {
  it('then liveness and readiness answer 200 while PostgreSQL answers', async () => {
    expect((await catalog.app.inject('/health/live')).json()).toEqual({ status: 'live' });
    const ready = await catalog.app.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', postgres: 'up', redis: 'not configured' });
  });

  it('then readiness is a 503 problem when PostgreSQL cannot be reached and no Redis holds cached pages, and liveness stays 200', async () => {
    // Port 9 (discard) refuses connections: a database that is down.
    const down = await startTestCatalog({ databaseUrl: 'postgres://postgres@127.0.0.1:9/none', env: { DATABASE_CONNECT_TIMEOUT_MS: '500' } });
    const app = down.app;
    try {
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(ready.headers['retry-after']).toBe('1');
      expect(ready.json()).toMatchObject({ type: '/problems/service-unavailable', status: 503 });
      expect(ready.json().detail).toMatch(/PostgreSQL: .*; Redis: not configured/);
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      // A read with the database down and nothing cached is a 503 problem without internals, never a hang.
      const listing = await app.inject('/products');
      expect(listing.statusCode).toBe(503);
      expect(listing.headers['retry-after']).toEqual(expect.any(String));
      expect(listing.body).not.toMatch(/ECONNREFUSED|at .*\.ts|stack/);
    } finally {
      await down.close();
    }
  });
});

describe('when a request carries or lacks a request id', () => {
  it('then a safe x-request-id is echoed back and appears in problems', async () => {
    const response = await catalog.app.inject({ url: '/products/999999999', headers: { 'x-request-id': 'edge-42.abc' } });
    expect(response.headers['x-request-id']).toBe('edge-42.abc');
    expect(response.json().requestId).toBe('edge-42.abc');
  });

  it('then a missing or unsafe one is replaced by a generated id', async () => {
    const missing = await catalog.app.inject('/health/live');
    expect(missing.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await catalog.app.inject({ url: '/health/live', headers: { 'x-request-id': 'evil\u0007 {json}' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('when a client sends something the service does not serve', () => {
  it('then an unknown route is a 404 problem', async () => {
    const response = await catalog.app.inject('/no/such/route');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ type: '/problems/route-not-found', instance: '/no/such/route' });
  });

  it('then an integer parameter that is not decimal digits is a 400 naming it, never a 500 (Ajv would coerce 1e400 to Infinity)', async () => {
    for (const [url, name] of [
      ['/products?minPrice=1e400', 'minPrice'],
      ['/products?maxPrice=Infinity', 'maxPrice'],
      ['/products?limit=Infinity', 'limit'],
      [`/products?minPrice=${'9'.repeat(400)}`, 'minPrice'],
      ['/products?minPrice=0x10', 'minPrice'],
      ['/products?limit=%20', 'limit'],
      ['/products/1/related?limit=1e400', 'limit'],
    ] as const) {
      const response = await catalog.app.inject(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(response.json(), url).toMatchObject({ type: '/problems/invalid-parameter', errors: [{ in: 'querystring', name }] });
    }
    // Decimal digits still go on to the schema's own bounds.
    expect((await catalog.app.inject('/products?minPrice=99999999999999999999')).json().detail).toBe('minPrice must be <= 1000000000000000');
    expect((await catalog.app.inject('/products?minPrice=100&limit=2')).statusCode).toBe(200);
  });

  it('then an unsupported method is a 404 problem, not a 500', async () => {
    const response = await catalog.app.inject({ method: 'DELETE', url: '/products/1' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('then a huge or hostile query string is a 4xx, never a 500', async () => {
    for (const url of [`/products?category=${'a'.repeat(5000)}`, '/products?limit=1&limit=2', '/products?cursor=%00', `/products/${'x'.repeat(300)}`]) {
      const response = await catalog.app.inject(url);
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
      expect(response.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });
});

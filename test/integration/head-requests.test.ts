// CDNs, uptime checkers and link checkers probe with HEAD: every GET route answers it with the
// GET's status and headers and no body. (The hot path's HEAD answers: hot-path.test.ts.)
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(() => catalog.close());
afterEach(() => {
  vi.useRealTimers();
});

const withoutRequestId = (headers: Record<string, unknown>) => {
  const { 'x-request-id': requestId, ...rest } = headers;
  expect(requestId).toEqual(expect.any(String));
  return rest;
};

describe('when a client asks with HEAD', () => {
  it.each(['/products/1', '/products?category=footwear&sort=price_asc&limit=5', '/products/1/related?limit=3', '/categories', '/health/live', '/health/ready'])(
    'then %s answers with the status and every header of GET, without the body',
    async (url) => {
      const first = await catalog.app.inject(url);
      expect(first.statusCode).toBe(200);
      // The two answers compute Cache-Control at the same age, even across a second boundary.
      vi.useFakeTimers({ toFake: ['Date'] });
      const head = await catalog.app.inject({ method: 'HEAD', url });
      const get = await catalog.app.inject(url);
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
      expect(withoutRequestId(head.headers)).toEqual(withoutRequestId(get.headers));
      expect(head.headers['content-length']).toBe(String(get.rawPayload.length));
    },
  );

  it('then a product page that names its ETag is a 304, and the metrics answer 200 as text', async () => {
    const page = await catalog.app.inject('/products/2');
    const again = await catalog.app.inject({ method: 'HEAD', url: '/products/2', headers: { 'if-none-match': String(page.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.headers.etag).toBe(page.headers.etag);
    const metrics = await catalog.app.inject({ method: 'HEAD', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toBe('');
  });

  it('then an unknown product is a 404 problem without the body', async () => {
    const head = await catalog.app.inject({ method: 'HEAD', url: '/products/999999999' });
    expect(head.statusCode).toBe(404);
    expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(head.headers['cache-control']).toBe('no-store');
    expect(head.body).toBe('');
  });
});

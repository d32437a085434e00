// The HTTP edge (src/api/edge/): security headers, CORS, URL and body bounds, load shedding and rate
// limits, for Fastify's answers and the hot path's alike. Real sockets, because inject goes around
// the hot path; http_hot_path_answers_total tells which of the two answered.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../support/admin-api.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { waitFor } from '../support/change-feed.ts';
import { comparableHeaders, hotPathAnswers } from '../support/hot-path-answers.ts';
import { deleteKeysWithPrefix, startRedisServer, type RedisServer } from '../support/redis-server.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
const started: Server[] = [];

interface Server {
  catalog: TestCatalog;
  url: string;
}

async function listening(env: Record<string, string>): Promise<Server> {
  const catalog = await startTestCatalog({ env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env } });
  const server = { catalog, url: await catalog.app.listen({ host: '127.0.0.1', port: 0 }) };
  started.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(started.map(({ catalog }) => catalog.close()));
  const admin = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(admin, prefix);
  admin.disconnect();
});

/** Asks once; says whether the hot path answered. */
async function ask(server: Server, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const before = await hotPathAnswers(server.catalog.readPath.metrics);
  const response = await fetch(server.url + path, { method, headers });
  const text = await response.text();
  return { response, text, byHotPath: (await hotPathAnswers(server.catalog.readPath.metrics)) > before };
}

async function counted(metrics: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((value) => Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

/** Every header but the per-request ones and those of the cache tier that answered. */
function sameAcrossAnswers(response: Response): Record<string, string> {
  const { 'x-cache': _tier, 'cache-control': _age, ...rest } = comparableHeaders(response);
  return rest;
}

function expectProblem(answer: { response: Response; text: string }, status: number, type: string) {
  expect(answer.response.status).toBe(status);
  expect(answer.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(answer.text)).toMatchObject({ type: `/problems/${type}`, status });
}

describe('when the api sends security headers and CORS headers (CORS_ORIGINS lists two origins)', () => {
  const writer = mintToken('edge-writer', 'write');
  let server: Server;
  beforeAll(async () => {
    server = await listening({
      CORS_ORIGINS: 'https://shop.example,https://outlet.example',
      HTTP_MAX_URL_LENGTH: '512',
      HTTP_BODY_LIMIT_BYTES: '2048',
      ADMIN_TOKENS: writer.entry,
    });
  });

  it.each([
    ['from a listed origin', { origin: 'https://shop.example' }, 'https://shop.example'],
    ['from an origin not listed', { origin: 'https://elsewhere.example' }, null],
    ['without an Origin', {}, null],
  ])('then a hot-path answer %s carries the very headers of Fastify\'s answer to the same URL', async (_case, headers, allowed) => {
    const path = `/products?sort=name&limit=2&case=${encodeURIComponent(_case)}`;
    const byRoute = await ask(server, path, headers);
    const byHotPath = await ask(server, path, headers);
    expect([byRoute.byHotPath, byHotPath.byHotPath]).toEqual([false, true]);
    expect(sameAcrossAnswers(byHotPath.response)).toEqual(sameAcrossAnswers(byRoute.response));
    const sent = byHotPath.response.headers;
    expect(sent.get('access-control-allow-origin')).toBe(allowed);
    expect(sent.get('vary')).toBe('Origin');
    expect(sent.get('access-control-expose-headers')).toContain('RateLimit-Remaining');
    expect(sent.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(sent.get('x-content-type-options')).toBe('nosniff');
    expect(sent.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    // Readable by storefronts on other origins; none of the headers meant for HTML documents.
    expect(sent.get('cross-origin-resource-policy')).toBe('cross-origin');
    for (const name of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-xss-protection', 'x-download-options', 'x-permitted-cross-domain-policies']) {
      expect(sent.get(name), name).toBeNull();
    }
  });

  it('then a preflight from a listed origin is answered 204 with the methods and the preflight lifetime', async () => {
    const answer = await ask(server, '/products?limit=2', { origin: 'https://outlet.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(answer.response.status).toBe(204);
    expect(answer.response.headers.get('access-control-allow-origin')).toBe('https://outlet.example');
    expect(answer.response.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
    expect(answer.response.headers.get('access-control-max-age')).toBe('600');
  });

  it('then problems carry the security headers too', async () => {
    const answer = await ask(server, '/products/999999999');
    expectProblem(answer, 404, 'product-not-found');
    expect(answer.response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('then a URL longer than HTTP_MAX_URL_LENGTH is answered 414 problem+json, with the security and CORS headers, by neither the hot path nor a route', async () => {
    const path = `/products?sort=name&limit=2&q=${'a'.repeat(600)}`;
    const answer = await ask(server, path, { origin: 'https://shop.example' });
    expectProblem(answer, 414, 'uri-too-long');
    expect(answer.byHotPath).toBe(false);
    expect(answer.response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    // Just under the bound, the request reaches the routes.
    expect((await ask(server, `/products?limit=2&q=${'a'.repeat(400)}`)).response.status).not.toBe(414);
  });

  it('then an admin body larger than HTTP_BODY_LIMIT_BYTES is answered 413 problem+json before it is read', async () => {
    const response = await fetch(`${server.url}/admin/products`, {
      method: 'POST',
      headers: { authorization: writer.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Too long', description: 'x'.repeat(4096) }),
    });
    expectProblem({ response, text: await response.text() }, 413, 'payload-too-large');
  });
});

describe('when CORS_ORIGINS is *', () => {
  it("then a hot-path answer carries the very CORS headers of Fastify's answer, without Vary", async () => {
    const server = await listening({ CORS_ORIGINS: '*' });
    const path = '/products?sort=name&limit=2&any=origin';
    const byRoute = await ask(server, path, { origin: 'https://anywhere.example' });
    const byHotPath = await ask(server, path, { origin: 'https://anywhere.example' });
    expect([byRoute.byHotPath, byHotPath.byHotPath]).toEqual([false, true]);
    expect(sameAcrossAnswers(byHotPath.response)).toEqual(sameAcrossAnswers(byRoute.response));
    expect(byHotPath.response.headers.get('access-control-allow-origin')).toBe('*');
    expect(byHotPath.response.headers.get('vary')).toBeNull();
  });
});

describe('when the event loop is held past PRESSURE_MAX_EVENT_LOOP_DELAY_MS', () => {
  let server: Server;
  const hotUrl = '/products?sort=price_asc&limit=2';
  beforeAll(async () => {
    server = await listening({ PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '100', PRESSURE_RETRY_AFTER_S: '7' });
    await ask(server, hotUrl);
    expect((await ask(server, hotUrl)).byHotPath).toBe(true);
  });

  it('then hot-path URLs and routes alike are answered 503 problem+json with Retry-After, probes and metrics still answer, and then the api recovers', async () => {
    // A busy loop in a timer: the loop turns only between 300 ms blocks.
    const blocker = setInterval(() => {
      const until = Date.now() + 300;
      while (Date.now() < until);
    }, 10);
    let shed: Awaited<ReturnType<typeof ask>> | undefined;
    try {
      await waitFor('a shed answer', async () => {
        shed = await ask(server, hotUrl);
        return shed.response.status === 503;
      });
      expectProblem(shed as NonNullable<typeof shed>, 503, 'overloaded');
      expect(shed?.response.headers.get('retry-after')).toBe('7');
      expect(shed?.byHotPath).toBe(false);
      expect(shed?.response.headers.get('x-content-type-options')).toBe('nosniff');
      const route = await ask(server, '/products/5');
      expectProblem(route, 503, 'overloaded');
      for (const probe of ['/health/live', '/health/ready', '/metrics']) expect((await ask(server, probe)).response.status, probe).toBe(200);
      expect(await counted(server.catalog.readPath.metrics, 'http_requests_shed_total', { reason: 'event_loop_delay' })).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(blocker);
    }
    await waitFor('the api to recover', async () => (await ask(server, hotUrl)).response.status === 200);
    expect((await ask(server, hotUrl)).byHotPath).toBe(true);
  });
});

describe('when RATE_LIMIT_MAX limits each client, counted in Redis, behind one trusted proxy', () => {
  const first = mintToken('edge-ops', 'read');
  const second = mintToken('edge-feeds', 'read');
  let pods: [Server, Server];
  const hotUrl = '/products?sort=name&limit=3';
  const from = (address: string) => ({ 'x-forwarded-for': `${address}, 10.0.0.9` });
  const env = {
    RATE_LIMIT_MAX: '5',
    RATE_LIMIT_WINDOW_MS: '60000',
    RATE_LIMIT_ADMIN_MAX: '3',
    RATE_LIMIT_ALLOW: '198.51.100.0/24',
    TRUST_PROXY_HOPS: '2',
    ADMIN_TOKENS: `${first.entry},${second.entry}`,
  };
  beforeAll(async () => {
    pods = [await listening(env), await listening(env)];
    // Each pod answers the URL once through its route, for a client of its own.
    for (const [index, pod] of pods.entries()) {
      await ask(pod, hotUrl, from(`192.0.2.${100 + index}`));
      expect((await ask(pod, hotUrl, from(`192.0.2.${100 + index}`))).byHotPath).toBe(true);
    }
  });

  it("then a hot-path answer counts and carries the RateLimit headers Fastify's answer carries", async () => {
    const cold = '/products?sort=name&limit=4';
    const byRoute = await ask(pods[0], cold, from('192.0.2.1'));
    const byHotPath = await ask(pods[0], cold, from('192.0.2.2'));
    expect([byRoute.byHotPath, byHotPath.byHotPath]).toEqual([false, true]);
    expect(sameAcrossAnswers(byHotPath.response)).toEqual(sameAcrossAnswers(byRoute.response));
    expect(byHotPath.response.headers.get('ratelimit-limit')).toBe('5');
    expect(byHotPath.response.headers.get('ratelimit-remaining')).toBe('4');
    expect(byHotPath.response.headers.get('ratelimit-reset')).toBe('60');
  });

  it('then one client is refused 429 after its limit across both pods, while another client is unaffected', async () => {
    const limitedBefore = await counted(pods[0].catalog.readPath.metrics, 'http_requests_rate_limited_total', { scope: 'client' });
    const answers = [];
    for (let request = 0; request < 5; request += 1) answers.push(await ask(pods[request % 2] as Server, hotUrl, from('203.0.113.7')));
    expect(answers.map((answer) => answer.response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((answer) => answer.byHotPath)).toEqual([true, true, true, true, true]);
    expect(answers.map((answer) => answer.response.headers.get('ratelimit-remaining'))).toEqual(['4', '3', '2', '1', '0']);

    const refused = await ask(pods[0], hotUrl, from('203.0.113.7'));
    expectProblem(refused, 429, 'too-many-requests');
    expect(refused.byHotPath).toBe(false);
    expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.response.headers.get('ratelimit-remaining')).toBe('0');
    expect(await counted(pods[0].catalog.readPath.metrics, 'http_requests_rate_limited_total', { scope: 'client' })).toBe(limitedBefore + 1);
    // The same client is refused on other routes too; another client still gets the hot path.
    expect((await ask(pods[1], '/categories', from('203.0.113.7'))).response.status).toBe(429);
    const other = await ask(pods[1], hotUrl, from('203.0.113.8'));
    expect([other.response.status, other.byHotPath, other.response.headers.get('ratelimit-remaining')]).toEqual([200, true, '4']);
  });

  it('then a client in RATE_LIMIT_ALLOW is never limited and gets no RateLimit headers', async () => {
    for (let request = 0; request < 7; request += 1) {
      const answer = await ask(pods[request % 2] as Server, hotUrl, from('198.51.100.20'));
      expect([answer.response.status, answer.byHotPath, answer.response.headers.get('ratelimit-limit')]).toEqual([200, true, null]);
    }
  });

  it('then probes and metrics are not limited', async () => {
    for (let request = 0; request < 7; request += 1) expect((await ask(pods[0], '/health/live', from('203.0.113.7'))).response.status).toBe(200);
  });

  it('then an admin token is refused 429 after RATE_LIMIT_ADMIN_MAX while another token, from the same address, is not', async () => {
    const asToken = (token: typeof first) => ({ ...from('192.0.2.50'), authorization: token.authorization });
    const statuses = [];
    for (let request = 0; request < 4; request += 1) statuses.push((await ask(pods[request % 2] as Server, '/admin/products/1', asToken(first))).response.status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await counted(pods[1].catalog.readPath.metrics, 'http_requests_rate_limited_total', { scope: 'admin' })).toBe(1);
    const other = await ask(pods[0], '/admin/products/1', asToken(second));
    expect([other.response.status, other.response.headers.get('ratelimit-remaining')]).toEqual([200, '2']);
  });

  it('then requests without a known admin token are limited by client address', async () => {
    const statuses = [];
    for (let request = 0; request < 4; request += 1) statuses.push((await ask(pods[0], '/admin/products/1', { ...from('192.0.2.60'), authorization: 'Bearer guess' })).response.status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('when only admin tokens are limited (RATE_LIMIT_MAX unset, the default)', () => {
  const token = mintToken('edge-only-admin', 'read');
  let pod: Server;
  const hotUrl = '/products?sort=name&limit=4';
  beforeAll(async () => {
    pod = await listening({ RATE_LIMIT_ADMIN_MAX: '2', ADMIN_TOKENS: token.entry });
    await ask(pod, hotUrl);
  });

  it('then the token is refused 429 after RATE_LIMIT_ADMIN_MAX', async () => {
    const statuses = [];
    for (let request = 0; request < 3; request += 1) statuses.push((await ask(pod, '/admin/products/1', { authorization: token.authorization })).response.status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('then public answers, the hot path\'s included, are neither counted nor carry RateLimit headers', async () => {
    for (let request = 0; request < 5; request += 1) {
      const answer = await ask(pod, hotUrl);
      expect([answer.response.status, answer.byHotPath, answer.response.headers.get('ratelimit-limit')]).toEqual([200, true, null]);
    }
  });
});

describe('when the Redis holding the counts goes down', () => {
  let redis: RedisServer;
  let server: Server;
  beforeAll(async () => {
    redis = await startRedisServer();
    server = await listening({ REDIS_URL: redis.url, RATE_LIMIT_MAX: '2' });
  });
  afterAll(() => redis.stop());

  it('then the limit fails open: requests are answered, not refused or failed', async () => {
    await redis.stop();
    const statuses = [];
    for (let request = 0; request < 4; request += 1) statuses.push((await ask(server, '/products/8')).response.status);
    expect(statuses).toEqual([200, 200, 200, 200]);
  });
});

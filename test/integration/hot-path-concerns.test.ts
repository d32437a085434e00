// The hot path runs no Fastify hook. These prove that a hook added to the app cannot be skipped
// silently: the hot path stands aside for a route with a hook of its own, and answers with the
// headers of a concern declared to it. Real sockets, because inject goes around the hot path.
import { randomUUID } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/api/app.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { comparableHeaders, hotPathAnswers } from '../support/hot-path-answers.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
const started: TestCatalog[] = [];

async function listening(app: AppOptions) {
  const catalog = await startTestCatalog({ env: { REDIS_URL, REDIS_KEY_PREFIX: prefix }, app });
  started.push(catalog);
  return { catalog, url: await catalog.app.listen({ host: '127.0.0.1', port: 0 }) };
}

afterAll(async () => {
  await Promise.all(started.map((catalog) => catalog.close()));
  const admin = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(admin, prefix);
  admin.disconnect();
});

/** Asks twice; says which answers the hot path gave. */
async function askTwice(server: { catalog: TestCatalog; url: string }, path: string) {
  const answers = [];
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const before = await hotPathAnswers(server.catalog.readPath.metrics);
    const response = await fetch(server.url + path);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    answers.push({ response, byHotPath: (await hotPathAnswers(server.catalog.readPath.metrics)) > before });
  }
  return answers;
}

const stampShelf: onRequestHookHandler = (_request, reply, done) => {
  reply.header('x-shelf', 'front');
  done();
};

describe('when a route has a hook of its own that adds a header', () => {
  let server: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    server = await listening({
      concerns: (app) => {
        // As a plugin adding a route-level hook would (like the decimal-integer check does).
        app.addHook('onRoute', (route) => {
          if (route.url === '/products/:idOrSlug') route.onRequest = [...[route.onRequest ?? []].flat(), stampShelf];
        });
      },
    });
  });

  it('then the hot path stands aside for that route: every answer comes from Fastify and carries the header', async () => {
    const answers = await askTwice(server, '/products/3');
    expect(answers.map((answer) => answer.byHotPath)).toEqual([false, false]);
    expect(answers.map((answer) => answer.response.headers.get('x-shelf'))).toEqual(['front', 'front']);
    expect(answers[1]?.response.headers.get('x-cache')).toBe('HIT-NEAR');
  });

  it('then the other routes are still answered by the hot path, without the header', async () => {
    const answers = await askTwice(server, '/products?sort=name&limit=3');
    expect(answers.map((answer) => answer.byHotPath)).toEqual([false, true]);
    expect(answers[1]?.response.headers.get('x-shelf')).toBeNull();
  });
});

describe('when concerns are declared to the hot path', () => {
  let server: Awaited<ReturnType<typeof listening>>;
  let shedding = false;
  beforeAll(async () => {
    server = await listening({
      concerns: (app, hotPath) => {
        // Lives in the contract alone: the app's onRequest hook and the hot path both add it.
        hotPath.add({ name: 'aisle', addHeaders: (_request, headers) => headers.push('x-aisle', 'seven') });
        // A hook of the app's own, with what the hot path does instead.
        app.addHook('onRequest', stampShelf);
        hotPath.add({ name: 'shelf', hooks: [stampShelf], addHeaders: (_request, headers) => headers.push('x-shelf', 'front') });
        hotPath.add({ name: 'load shedding', admits: () => !shedding });
      },
    });
  });

  it("then the hot path answers, and its answer carries every concern's header, as Fastify's does", async () => {
    const [byRoute, byHotPath] = await askTwice(server, '/products/4');
    expect(byHotPath?.byHotPath).toBe(true);
    for (const answer of [byRoute, byHotPath]) {
      expect(answer?.response.headers.get('x-aisle')).toBe('seven');
      expect(answer?.response.headers.get('x-shelf')).toBe('front');
    }
    const { 'x-cache': _hit, 'cache-control': _age, ...hot } = comparableHeaders(byHotPath?.response as Response);
    const { 'x-cache': _miss, 'cache-control': _fresh, ...route } = comparableHeaders(byRoute?.response as Response);
    expect(hot).toEqual(route);
  });

  it('then answers that never reach a cached read carry the headers too', async () => {
    for (const path of ['/products/999999999', '/health/live']) {
      const response = await fetch(server.url + path);
      await response.arrayBuffer();
      expect(response.headers.get('x-aisle'), path).toBe('seven');
    }
  });

  it('then a request the concern does not admit goes to Fastify', async () => {
    await askTwice(server, '/products/6');
    shedding = true;
    try {
      const answers = await askTwice(server, '/products/6');
      expect(answers.map((answer) => answer.byHotPath)).toEqual([false, false]);
    } finally {
      shedding = false;
    }
    expect((await askTwice(server, '/products/6')).map((answer) => answer.byHotPath)).toEqual([true, true]);
  });
});

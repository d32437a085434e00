// Search that survives its engine: OpenSearch configured but dead, or hanging, and /products/search
// and /products/suggest still answer from PostgreSQL, flagged degraded in the body and a header; the
// breaker opens, and closes on its own once OpenSearch answers again.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { openSearchAnswer } from '../support/opensearch-answers.ts';

const catalogs: TestCatalog[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(catalogs.splice(0).map((catalog) => catalog.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function catalogWithOpenSearch(url: string): Promise<TestCatalog> {
  const catalog = await startTestCatalog({ env: { OPENSEARCH_URL: url, OPENSEARCH_TIMEOUT_MS: '300', OPENSEARCH_BREAKER_RESET_MS: '500' } });
  catalogs.push(catalog);
  return catalog;
}

/** An OpenSearch stand-in: `mode.now` decides what each request gets. */
async function fakeOpenSearch(mode: { now: 'hang' | 'answer' }): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    requests += 1;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (mode.now === 'hang') return void held.push(response);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(openSearchAnswer(request.url ?? '', body)));
    });
  });
  server.on('close', () => held.forEach((response) => response.destroy()));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

async function metric(catalog: TestCatalog, pattern: RegExp): Promise<number> {
  const text = await (await catalog.app.inject('/metrics')).body;
  return [...text.matchAll(new RegExp(pattern.source, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
}

describe('when OpenSearch is configured but nothing listens at its address', () => {
  it('then search and suggest are answered by PostgreSQL, flagged degraded in the body and the Search-Degraded header', async () => {
    const catalog = await catalogWithOpenSearch(`http://127.0.0.1:${await freePort()}`);
    const response = await catalog.app.inject('/products/search?q=cotton%20shirt');
    expect(response.statusCode).toBe(200);
    expect(response.headers['search-degraded']).toBe('true');
    const body = response.json<{ degraded: boolean; engine: string; items: unknown[] }>();
    expect(body).toMatchObject({ degraded: true, engine: 'postgres' });
    expect(body.items.length).toBeGreaterThan(0);

    const suggest = await catalog.app.inject('/products/suggest?q=sams');
    expect(suggest.statusCode).toBe(200);
    expect(suggest.headers['search-degraded']).toBe('true');
    expect(suggest.json()).toMatchObject({ degraded: true, engine: 'postgres' });
    // A degraded answer served from the cache says so too.
    const again = await catalog.app.inject('/products/search?q=cotton%20shirt');
    expect(again.headers['x-cache']).toMatch(/HIT/);
    expect(again.headers['search-degraded']).toBe('true');
  });
});

describe('when OpenSearch hangs', () => {
  it('then each search is answered within the timeout, the breaker opens after a few, and later searches skip OpenSearch', async () => {
    const open = await fakeOpenSearch({ now: 'hang' });
    const catalog = await catalogWithOpenSearch(open.url);
    for (const [i, q] of ['shirt', 'watch', 'sofa', 'mug', 'shoe', 'bag', 'ring'].entries()) {
      const started = Date.now();
      const response = await catalog.app.inject(`/products/search?q=${q}&facets=none`);
      expect(response.statusCode, `search ${i}`).toBe(200);
      expect(response.json()).toMatchObject({ degraded: true });
      expect(Date.now() - started).toBeLessThan(2000);
    }
    expect(await metric(catalog, /^catalog_breaker_state\{dependency="opensearch"\} (\d+)/)).toBe(2);
    expect(await metric(catalog, /^catalog_search_fallbacks_total\{[^}]*reason="breaker-open"[^}]*\} (\d+)/)).toBeGreaterThan(0);
    expect(await metric(catalog, /^catalog_search_fallbacks_total\{[^}]*reason="timeout"[^}]*\} (\d+)/)).toBeGreaterThan(0);
  });

  it('then, once it answers again, the breaker closes on its own and the degraded answers cached meanwhile are dropped', async () => {
    const mode = { now: 'hang' as 'hang' | 'answer' };
    const open = await fakeOpenSearch(mode);
    const catalog = await catalogWithOpenSearch(open.url);
    for (const q of ['shirt', 'watch', 'sofa', 'mug', 'shoe']) await catalog.app.inject(`/products/search?q=${q}&facets=none`);
    expect((await catalog.app.inject('/products/search?q=lamp&facets=none')).json()).toMatchObject({ degraded: true });

    mode.now = 'answer';
    await new Promise((resolve) => setTimeout(resolve, 600));
    // The cached degraded answer alone would never try OpenSearch: a query not cached yet does.
    expect((await catalog.app.inject('/products/search?q=kettle&facets=none')).json()).toMatchObject({ degraded: false, engine: 'opensearch' });
    const recovered = await catalog.app.inject('/products/search?q=lamp&facets=none');
    expect(recovered.json()).toMatchObject({ degraded: false, engine: 'opensearch' });
    expect(recovered.headers['search-degraded']).toBeUndefined();
    expect(await metric(catalog, /^catalog_breaker_state\{dependency="opensearch"\} (\d+)/)).toBe(0);
  });
});

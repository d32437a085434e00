// Search that survives its engine: OpenSearch configured but dead, or hanging, and /products/search
// and /products/suggest still answer from PostgreSQL, flagged degraded in the body and a header; the
// breaker opens, and closes on its own once OpenSearch answers again.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { startFakeOpenSearch, type FakeOpenSearch } from '../support/fake-opensearch.ts';
import { hit, searchResponse } from '../support/opensearch-fixtures.ts';
import { freePort } from '../support/free-port.ts';

const catalogs: TestCatalog[] = [];
const nodes: FakeOpenSearch[] = [];
afterEach(async () => {
  await Promise.all(catalogs.splice(0).map((catalog) => catalog.close()));
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function catalogWithOpenSearch(url: string): Promise<TestCatalog> {
  const catalog = await startTestCatalog({ env: { OPENSEARCH_URL: url, OPENSEARCH_TIMEOUT_MS: '300', OPENSEARCH_BREAKER_RESET_MS: '500' } });
  catalogs.push(catalog);
  return catalog;
}

/** An OpenSearch stand-in that hangs, or answers every search with one product, as `mode.now` says. */
async function openSearchNode(mode: { now: 'hang' | 'answer' }): Promise<FakeOpenSearch> {
  const node = await startFakeOpenSearch();
  nodes.push(node);
  node.answer(() => (mode.now === 'hang' ? 'hang' : { status: 200, body: searchResponse({ hits: [hit(1, [3.2, 1])], text: 'lamp' }) }));
  return node;
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
    const open = await openSearchNode({ now: 'hang' });
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
    const open = await openSearchNode(mode);
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

// The breaker around the primary search engine, with engines that fail, hang or answer on demand
// (the real engines are driven against dead and hanging OpenSearch in test/integration/search-fallback.test.ts).
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineSearchResult, SearchRequest } from '../../src/catalog/search.ts';
import { createProductSearch, type ProductSearch } from '../../src/search/product-search.ts';
import type { SearchEngine } from '../../src/search/search-port.ts';

const request: SearchRequest = { q: 'shoe', filters: { attributes: [] }, sort: 'relevance', limit: 10, cursor: undefined, facets: [] };
const result = (name: string): EngineSearchResult => ({
  items: [{ id: 1, slug: name, name, brand: null, image: null, price: { min: 1, max: 1, currency: 'INR' }, inStock: true, rating: null, highlight: {} }],
  total: { value: 1, estimate: false },
  facets: {},
  didYouMean: null,
  relaxed: null,
  next: null,
});

type Behaviour = 'answer' | 'fail' | 'hang';
function engine(name: SearchEngine['name'], behaviour: { now: Behaviour }): SearchEngine & { calls: number } {
  const run = <T>(value: T, signal?: AbortSignal) => {
    const self = fake;
    self.calls += 1;
    if (behaviour.now === 'fail') return Promise.reject(new Error(`${name} is down`));
    if (behaviour.now === 'hang') {
      return new Promise<T>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    return Promise.resolve(value);
  };
  const fake = {
    name,
    calls: 0,
    search: (_request: SearchRequest, signal?: AbortSignal) => run(result(name), signal),
    suggest: (_q: string, _limit: number, signal?: AbortSignal) => run([{ kind: 'brand' as const, text: name, slug: name, highlight: name }], signal),
  };
  return fake;
}

const searches: ProductSearch[] = [];
afterEach(() => searches.splice(0).forEach((search) => search.shutdown()));

function build(primary: SearchEngine, fallback: SearchEngine | undefined, registry = new Registry()) {
  const search = createProductSearch({ primary, fallback, timeoutMs: 50, resetTimeoutMs: 100, log: pino({ level: 'silent' }), metrics: registry });
  searches.push(search);
  return search;
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('search with a fallback engine', () => {
  it('when the primary answers, then its answer is served and nothing is degraded', async () => {
    const search = build(engine('opensearch', { now: 'answer' }), engine('postgres', { now: 'answer' }));
    const answered = await search.search(request);
    expect(answered).toMatchObject({ engine: 'opensearch', degraded: false });
    expect(answered.value.items[0]?.name).toBe('opensearch');
  });

  it('when the primary fails, then PostgreSQL answers the same request, flagged degraded, and the fallback is counted', async () => {
    const registry = new Registry();
    const search = build(engine('opensearch', { now: 'fail' }), engine('postgres', { now: 'answer' }), registry);
    const answered = await search.search(request);
    expect(answered).toMatchObject({ engine: 'postgres', degraded: true });
    expect((await search.suggest('sh', 5)).value[0]?.text).toBe('postgres');
    expect(await metric(registry, 'catalog_search_fallbacks_total', { operation: 'search', reason: 'error' })).toBe(1);
  });

  it('when the primary hangs, then the fallback answers within the timeout', async () => {
    const search = build(engine('opensearch', { now: 'hang' }), engine('postgres', { now: 'answer' }));
    const started = Date.now();
    const answered = await search.search(request);
    expect(answered.degraded).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('when failures pass the threshold, then the breaker opens (the primary is no longer asked) and closes on its own once it answers', async () => {
    const behaviour = { now: 'fail' as Behaviour };
    const primary = engine('opensearch', behaviour);
    const registry = new Registry();
    const search = build(primary, engine('postgres', { now: 'answer' }), registry);
    let recovered = 0;
    search.onRecovered(() => (recovered += 1));
    for (let i = 0; i < 5; i++) await search.search(request);
    const asked = primary.calls;
    for (let i = 0; i < 5; i++) expect((await search.search(request)).degraded).toBe(true);
    expect(primary.calls).toBe(asked);
    expect(await metric(registry, 'catalog_search_fallbacks_total', { reason: 'breaker-open' })).toBe(5);
    expect(await metric(registry, 'catalog_breaker_state', { dependency: 'opensearch' })).toBe(2);

    behaviour.now = 'answer';
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await search.search(request)).toMatchObject({ engine: 'opensearch', degraded: false });
    expect(recovered).toBe(1);
    expect(await metric(registry, 'catalog_breaker_state', { dependency: 'opensearch' })).toBe(0);
  });

  it('when PostgreSQL is the only engine, then its failure is the answer (nothing to fall back to)', async () => {
    const search = build(engine('postgres', { now: 'fail' }), undefined);
    await expect(search.search(request)).rejects.toThrow('postgres is down');
  });

  it('counts searches that found nothing, by engine', async () => {
    const registry = new Registry();
    const empty: SearchEngine = { name: 'postgres', search: async () => ({ ...result('x'), items: [] }), suggest: async () => [] };
    const search = build(empty, undefined, registry);
    await search.search(request);
    expect(await metric(registry, 'catalog_search_zero_results_total', { engine: 'postgres' })).toBe(1);
  });
});

// The OpenSearch engine against a real cluster, when OPENSEARCH_URL names one (docker compose up
// opensearch; OpenSearch cannot run on the machines that build this project, so here it is skipped).
// The bundled catalogue (a copy of it in PostgreSQL) is reindexed into an alias of the test's own;
// searches, facets, versions, suggestions and a reindex racing a write run against it.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACETS, type SearchRequest } from '../../src/catalog/search.ts';
import { createOpenSearchClient } from '../../src/search/opensearch-client.ts';
import { createOpenSearchEngine } from '../../src/search/opensearch-engine.ts';
import { readSynonymRules } from '../../src/search/solr-synonyms.ts';
import { reindexOpenSearch } from '../../src/search/opensearch-reindex.ts';
import { createOpenSearchIndexedVersions } from '../../src/search/opensearch-versions.ts';
import { createOpenSearchIndexWriter } from '../../src/search/opensearch-writer.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { loadSearchDocumentChanges } from '../../src/store/search-documents.ts';
import { setPrice } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';

const url = process.env.OPENSEARCH_URL;
const ALIAS = `catalog-test-${process.pid}`;

describe.skipIf(!url)('OpenSearch engine on a real cluster (runs only when OPENSEARCH_URL is set)', () => {
  let databaseName: string;
  let database: Database;
  let pool: pg.Pool;
  let client: ReturnType<typeof createOpenSearchClient>;
  let synonyms: string[];
  const engine = () => createOpenSearchEngine({ client, index: ALIAS });
  const writer = () => createOpenSearchIndexWriter({ client, index: ALIAS, refresh: 'wait_for' });
  const versions = () => createOpenSearchIndexedVersions({ client, index: ALIAS });
  const request = (q: string, overrides: Partial<SearchRequest> = {}): SearchRequest => ({
    q,
    filters: { attributes: [] },
    sort: 'relevance',
    limit: 10,
    cursor: undefined,
    facets: [...FACETS],
    ...overrides,
  });
  const refresh = () => client.indices.refresh({ index: ALIAS });

  beforeAll(async () => {
    const clone = await cloneCatalogDatabase('catalog_opensearch_engine');
    databaseName = clone.name;
    database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
    pool = database.primary;
    client = createOpenSearchClient({ url: url!, timeoutMs: 30_000 });
    synonyms = await readSynonymRules();
    await reindexOpenSearch({ client, pool, alias: ALIAS, synonyms, replicas: 0, batchSize: 1_000, catchUpMarginMs: 0 });
    await refresh();
  }, 600_000);

  afterAll(async () => {
    await client?.indices.delete({ index: `${ALIAS}-*` }, { ignore: [404] });
    await client?.close();
    await database?.close();
    if (databaseName) await dropDatabase(databaseName);
  });

  it('then a query finds products with every word, highlighted, with an exact total', async () => {
    const result = await engine().search(request('sofa bed'));
    expect(result.items.length).toBeGreaterThan(0);
    expect(result.items[0]!.highlight.name).toMatch(/<em>sofa<\/em>/i);
    expect(result.total.estimate).toBe(false);
    expect(result.relaxed).toBeNull();
  });

  it('then a typo still finds what the right spelling finds', async () => {
    const right = await engine().search(request('sofa bed'));
    const typo = await engine().search(request('sofa bedd'));
    const top = (result: typeof right) => result.items.map((item) => item.id);
    expect(top(typo).filter((id) => top(right).includes(id)).length).toBeGreaterThanOrEqual(Math.ceil(top(right).length * 0.8));
  });

  it('then a synonym finds the products named by the other word', async () => {
    const couch = await engine().search(request('couch'));
    expect(couch.items.some((item) => /sofa/i.test(item.name))).toBe(true);
  });

  it("then selecting a brand leaves the brand facet's other counts as they were, and every price bucket is listed", async () => {
    const open = await engine().search(request('shirt'));
    const [first, second] = open.facets.brand!;
    expect(second).toBeDefined();
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM brands WHERE slug = $1', [first!.slug]);
    const narrowed = await engine().search(request('shirt', { filters: { attributes: [], brandId: Number(rows[0]!.id) } }));
    expect(narrowed.total.value).toBe(first!.count);
    expect(narrowed.facets.brand!.find((brand) => brand.slug === second!.slug)?.count).toBe(second!.count);
    expect(narrowed.facets.price).toHaveLength(7);
  });

  it('then the next page continues where the first ended, without repeating', async () => {
    const first = await engine().search(request('shirt', { sort: 'price_asc', limit: 5 }));
    const second = await engine().search(request('shirt', { sort: 'price_asc', limit: 5, cursor: { engine: 'opensearch', ...first.next! } }));
    expect(second.items.map((item) => item.id).filter((id) => first.items.some((item) => item.id === id))).toEqual([]);
    expect(second.items[0]!.price.min).toBeGreaterThanOrEqual(first.items.at(-1)!.price.min);
  });

  it('then a word nothing holds is dropped and said so', async () => {
    const result = await engine().search(request('sofa bed qqzzxxy'));
    expect(result.relaxed).toEqual({ query: 'sofa bed', dropped: ['qqzzxxy'] });
    expect(result.items.length).toBeGreaterThan(0);
  });

  it('then suggestions complete a prefix with the prefix highlighted', async () => {
    const suggestions = await engine().suggest('sof', 8);
    expect(suggestions.length).toBeGreaterThan(0);
    expect(suggestions.every((suggestion) => suggestion.highlight.toLowerCase().includes('<em>sof</em>'))).toBe(true);
  });

  it('then an older version is stale, a removal hides the product, and an older change cannot bring it back', async () => {
    const [hit] = (await engine().search(request('sofa bed'))).items;
    const [change] = await loadSearchDocumentChanges(pool, [hit!.id]);
    expect(await writer().write([{ ...change!, version: change!.version - 1 }])).toEqual({ applied: 0, stale: 1 });
    expect(await writer().write([{ productId: hit!.id, version: change!.version + 1, document: null }])).toEqual({ applied: 1, stale: 0 });
    expect((await engine().search(request('sofa bed'))).items.map((item) => item.id)).not.toContain(hit!.id);
    expect(await writer().write([change!])).toEqual({ applied: 0, stale: 1 });
    expect((await versions().versions(hit!.id, hit!.id)).get(hit!.id)).toEqual({ version: change!.version + 1, removed: true });
  });

  it('then a reindex racing a change keeps the change', async () => {
    const { rows } = await pool.query<{ id: string }>("SELECT id FROM products WHERE status = 'active' AND price_min IS NOT NULL ORDER BY id DESC LIMIT 1");
    const productId = Number(rows[0]!.id);
    const reindexing = reindexOpenSearch({ client, pool, alias: ALIAS, synonyms, replicas: 0, batchSize: 500, catchUpMarginMs: 0 });
    // While the build runs, the indexer writes the change through the alias, i.e. to the old index.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await setPrice(pool, productId, 777_700);
    await writer().write(await loadSearchDocumentChanges(pool, [productId]));
    await reindexing;
    await refresh();
    const [current] = await loadSearchDocumentChanges(pool, [productId]);
    expect((await versions().versions(productId, productId)).get(productId)).toEqual({ version: current!.version, removed: current!.document === null });
  }, 600_000);
});

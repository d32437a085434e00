// The OpenSearch engine driven through the real @opensearch-project/opensearch client against a fake
// node (node:http answering canned, documentation-shaped bodies): the requests it sends (method, path,
// NDJSON), the relaxed retry's round trips, the writer's conflict handling, first-start index creation,
// reconcile's paging, and what a dead, failing or hanging cluster does to a request.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.ts';
import { FACETS, type SearchRequest } from '../../src/catalog/search.ts';
import { createOpenSearchClient } from '../../src/search/opensearch-client.ts';
import { createOpenSearchEngine, MAX_WORDS_TO_RELAX } from '../../src/search/opensearch-engine.ts';
import { ensureOpenSearchIndex } from '../../src/search/opensearch-index.ts';
import { createOpenSearchIndexedVersions } from '../../src/search/opensearch-versions.ts';
import { createOpenSearchIndexWriter } from '../../src/search/opensearch-writer.ts';
import { startFakeOpenSearch, type FakeOpenSearch, type RecordedRequest } from '../support/fake-opensearch.ts';
import { freePort } from '../support/free-port.ts';
import { bulkResponse, hit, searchResponse, shoe, versionConflict } from '../support/opensearch-fixtures.ts';

const TIMEOUT_MS = 300;
let fake: FakeOpenSearch;
let client: ReturnType<typeof createOpenSearchClient>;

beforeAll(async () => {
  fake = await startFakeOpenSearch();
  client = createOpenSearchClient({ url: fake.url, timeoutMs: TIMEOUT_MS });
});
afterEach(() => {
  fake.requests.length = 0;
});
afterAll(async () => {
  await client.close();
  await fake.close();
});

function request(q: string, overrides: Partial<SearchRequest> = {}): SearchRequest {
  return { q, filters: { attributes: [] }, sort: 'relevance', limit: 2, cursor: undefined, facets: [...FACETS], ...overrides };
}

/** A _msearch answer: one response per query, each with the given total. */
function msearchResponse(totals: number[]) {
  return { took: 3, responses: totals.map((value) => ({ ...searchResponse({ total: { value, relation: 'eq' } }), status: 200 })) };
}

const searchedQueries = () =>
  fake.requests.filter((sent) => sent.path.endsWith('/_search')).map((sent) => (sent.body as { query: { bool: { must: { bool: { must: { match: { searchText: { query: string } } }[] } }[] } } }).query.bool.must[0]!.bool.must[0]!.match.searchText.query);

describe('when the engine searches', () => {
  const engine = () => createOpenSearchEngine({ client, index: 'catalog-products' });

  it('then it POSTs one _search to the alias and answers the page it reads', async () => {
    fake.answer(() => ({ status: 200, body: searchResponse({ hits: [hit(1, [9.5, 1]), hit(2, [9.1, 2]), hit(3, [8, 3])], suggestion: 'nike running' }) }));
    const result = await engine().search(request('nike runing'));
    expect(fake.requests.map((sent) => `${sent.method} ${sent.path}`)).toEqual(['POST /catalog-products/_search']);
    expect((fake.requests[0]!.body as { size: number }).size).toBe(3);
    expect(result.items.map((item) => item.id)).toEqual([1, 2]);
    expect(result.next).toEqual({ offset: 2, after: [9.1, 2] });
    expect(result.didYouMean).toBe('nike running');
    expect(result.relaxed).toBeNull();
  });

  it('then nothing matching every word makes it count each query with one word left out, in one _msearch, and search the best', async () => {
    fake.answer((sent) => {
      if (sent.path === '/_msearch') return { status: 200, body: msearchResponse([0, 4, 9]) };
      const q = searchedQueries().at(-1);
      return { status: 200, body: q === 'red nike' ? searchResponse({ hits: [hit(5, [3, 5])] }) : searchResponse({ suggestion: 'red nike shoe' }) };
    });
    const result = await engine().search(request('red nike shoez'));
    expect(fake.requests.map((sent) => `${sent.method} ${sent.path}`)).toEqual(['POST /catalog-products/_search', 'POST /_msearch', 'POST /catalog-products/_search']);
    const msearch = fake.requests[1]!;
    expect(msearch.contentType).toContain('application/x-ndjson');
    const lines = msearch.body as Record<string, unknown>[];
    expect(lines.filter((_, position) => position % 2 === 0)).toEqual([{ index: 'catalog-products' }, { index: 'catalog-products' }, { index: 'catalog-products' }]);
    expect(lines.filter((_, position) => position % 2 === 1).map((line) => JSON.stringify(line).match(/"query":"([^"]*)"/)![1])).toEqual(['nike shoez', 'red shoez', 'red nike']);
    expect(searchedQueries()).toEqual(['red nike shoez', 'red nike']);
    expect(result.items.map((item) => item.id)).toEqual([5]);
    expect(result.relaxed).toEqual({ query: 'red nike', dropped: ['shoez'] });
    expect(result.didYouMean).toBe('red nike shoe');
  });

  it('then when no single word helps, pairs are tried, ties going to the earlier words', async () => {
    let msearches = 0;
    fake.answer((sent) => {
      if (sent.path === '/_msearch') return { status: 200, body: msearchResponse(++msearches === 1 ? [0, 0, 0] : [0, 2, 2]) };
      return { status: 200, body: searchResponse({ hits: searchedQueries().length > 1 ? [hit(8, [1, 8])] : [] }) };
    });
    const result = await engine().search(request('xq zz shoe'));
    expect(msearches).toBe(2);
    // Pairs in order: (xq zz) keeps shoe, (xq shoe) keeps zz, (zz shoe) keeps xq; the first best is (xq shoe).
    expect(result.relaxed).toEqual({ query: 'zz', dropped: ['xq', 'shoe'] });
  });

  it('then a one-word query that matches nothing is answered empty, with no relaxed retry', async () => {
    fake.answer(() => ({ status: 200, body: searchResponse({ suggestion: 'shoe' }) }));
    const result = await engine().search(request('shoez'));
    expect(fake.requests).toHaveLength(1);
    expect(result).toMatchObject({ items: [], relaxed: null, didYouMean: 'shoe', total: { value: 0, estimate: false } });
  });

  it('then a query of more than MAX_WORDS_TO_RELAX words is not relaxed', async () => {
    fake.answer(() => ({ status: 200, body: searchResponse({}) }));
    const words = Array.from({ length: MAX_WORDS_TO_RELAX + 1 }, (_, n) => `word${n}`).join(' ');
    expect((await engine().search(request(words))).relaxed).toBeNull();
    expect(fake.requests).toHaveLength(1);
    fake.requests.length = 0;
    fake.answer((sent) => ({ status: 200, body: sent.path === '/_msearch' ? msearchResponse(Array(MAX_WORDS_TO_RELAX).fill(1)) : searchResponse({}) }));
    await engine().search(request(words.split(' ').slice(1).join(' ')));
    expect(fake.requests.map((sent) => sent.path)).toContain('/_msearch');
  });

  it('then suggest sends one _search and answers completions', async () => {
    fake.answer(() => ({ status: 200, body: { hits: { hits: [{ _source: { slug: 'nike-air', name: 'Nike Air' } }] }, aggregations: {} } }));
    expect(await engine().suggest('nik', 5)).toEqual([{ kind: 'product', text: 'Nike Air', slug: 'nike-air', highlight: '<em>Nik</em>e Air' }]);
    expect((fake.requests[0]!.body as { size: number }).size).toBe(5);
  });
});

describe('when OpenSearch is out of reach or in trouble', () => {
  const engine = () => createOpenSearchEngine({ client, index: 'catalog-products' });

  it('then a request that hangs rejects within the client timeout, as unavailable', async () => {
    fake.answer(() => 'hang');
    const started = Date.now();
    const failure = await engine()
      .search(request('nike'))
      .catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(failure).toBeInstanceOf(CatalogError);
    expect(failure).toMatchObject({ code: 'service-unavailable', message: expect.stringContaining('timed out') });
  });

  it('then a dead address rejects as unavailable', async () => {
    const dead = createOpenSearchClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: TIMEOUT_MS });
    await expect(createOpenSearchEngine({ client: dead, index: 'catalog-products' }).suggest('nik', 5)).rejects.toMatchObject({ code: 'service-unavailable' });
    await dead.close();
  });

  it('then a 503 is unavailable, a 400 is the request’s own error', async () => {
    fake.answer(() => ({ status: 503, body: { error: { type: 'cluster_block_exception' }, status: 503 } }));
    await expect(engine().search(request('nike'))).rejects.toMatchObject({ code: 'service-unavailable' });
    fake.answer(() => ({ status: 400, body: { error: { type: 'search_phase_execution_exception' }, status: 400 } }));
    const failure = await engine()
      .search(request('nike'))
      .catch((error: unknown) => error);
    expect(failure).not.toBeInstanceOf(CatalogError);
    expect(failure).toMatchObject({ name: 'ResponseError', statusCode: 400 });
  });

  it('then aborting the signal ends the request at once', async () => {
    fake.answer(() => 'hang');
    const controller = new AbortController();
    const started = Date.now();
    const searching = engine().search(request('nike'), controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(searching).rejects.toMatchObject({ name: 'RequestAbortedError' });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
  });
});

describe('when the writer writes', () => {
  it('then it POSTs NDJSON to _bulk with external versions and counts conflicts as stale', async () => {
    fake.answer(() => ({ status: 200, body: bulkResponse([{ id: '41', status: 201 }, { id: '42', status: 409, error: versionConflict }]) }));
    const writer = createOpenSearchIndexWriter({ client, index: 'catalog-products' });
    const written = await writer.write([
      { productId: 41, version: 6, document: shoe },
      { productId: 42, version: 2, document: null },
    ]);
    expect(written).toEqual({ applied: 1, stale: 1 });
    const sent = fake.requests[0]!;
    expect(`${sent.method} ${sent.path}`).toBe('POST /_bulk');
    expect(sent.contentType).toContain('application/x-ndjson');
    expect(sent.raw.endsWith('\n')).toBe(true);
    expect((sent.body as unknown[])[2]).toEqual({ index: { _index: 'catalog-products', _id: '42', version: 2, version_type: 'external' } });
  });

  it('then an item refused for another reason rejects the write', async () => {
    fake.answer(() => ({ status: 200, body: bulkResponse([{ id: '41', status: 400, error: { type: 'strict_dynamic_mapping_exception', reason: 'mapping set to strict' } }]) }));
    await expect(createOpenSearchIndexWriter({ client, index: 'catalog-products' }).write([{ productId: 41, version: 6, document: shoe }])).rejects.toThrow(/strict_dynamic_mapping_exception/);
  });

  it('then nothing to write sends nothing', async () => {
    expect(await createOpenSearchIndexWriter({ client, index: 'catalog-products' }).write([])).toEqual({ applied: 0, stale: 0 });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('when the service starts and the alias does not exist', () => {
  const sentTo = () => fake.requests.map((sent) => `${sent.method} ${sent.path}`);

  it('then the first index is created with the alias', async () => {
    fake.answer((sent) => (sent.method === 'HEAD' ? { status: 404, body: undefined } : { status: 200, body: { acknowledged: true, index: 'catalog-products-initial' } }));
    expect(await ensureOpenSearchIndex({ client, alias: 'catalog-products', synonyms: ['sofa, couch'] })).toEqual({ created: true, index: 'catalog-products-initial' });
    expect(sentTo()).toEqual(['HEAD /_alias/catalog-products', 'PUT /catalog-products-initial']);
    const body = fake.requests[1]!.body as { aliases: unknown; settings: { analysis: { filter: { catalog_synonyms: unknown } } } };
    expect(body.aliases).toEqual({ 'catalog-products': {} });
    expect(body.settings.analysis.filter.catalog_synonyms).toEqual({ type: 'synonym_graph', synonyms: ['sofa, couch'] });
  });

  it('then another process having just created it is no error', async () => {
    fake.answer((sent) => (sent.method === 'HEAD' ? { status: 404, body: undefined } : { status: 400, body: { error: { type: 'resource_already_exists_exception' }, status: 400 } }));
    expect(await ensureOpenSearchIndex({ client, alias: 'catalog-products', synonyms: [] })).toEqual({ created: false, index: 'catalog-products-initial' });
  });

  it('then an existing alias is left alone', async () => {
    fake.answer(() => ({ status: 200, body: undefined }));
    expect(await ensureOpenSearchIndex({ client, alias: 'catalog-products', synonyms: [] })).toEqual({ created: false, index: 'catalog-products' });
    expect(sentTo()).toEqual(['HEAD /_alias/catalog-products']);
  });

  it('then an index refused for another reason is an error', async () => {
    fake.answer((sent) => (sent.method === 'HEAD' ? { status: 404, body: undefined } : { status: 400, body: { error: { type: 'illegal_argument_exception' }, status: 400 } }));
    await expect(ensureOpenSearchIndex({ client, alias: 'catalog-products', synonyms: [] })).rejects.toThrow(/illegal_argument_exception/);
  });
});

describe('when reconcile reads indexed versions', () => {
  it('then it pages by search_after over the id and reads _version and the removed flag', async () => {
    const page = (sent: RecordedRequest) => {
      const after = (sent.body as { search_after?: number[] }).search_after?.[0] ?? 0;
      const ids = [1, 2, 3, 4, 5].filter((id) => id > after).slice(0, 2);
      return { hits: { total: { value: 5, relation: 'eq' }, hits: ids.map((id) => ({ _id: String(id), _version: id * 10, _source: { removed: id === 4 }, sort: [id] })) } };
    };
    fake.answer((sent) => ({ status: 200, body: page(sent) }));
    const versions = await createOpenSearchIndexedVersions({ client, index: 'catalog-products', pageSize: 2 }).versions(1, 5);
    expect([...versions]).toEqual([
      [1, { version: 10, removed: false }],
      [2, { version: 20, removed: false }],
      [3, { version: 30, removed: false }],
      [4, { version: 40, removed: true }],
      [5, { version: 50, removed: false }],
    ]);
    expect(fake.requests.map((sent) => (sent.body as { search_after?: number[] }).search_after)).toEqual([undefined, [2], [4]]);
    expect(fake.requests[0]!.body).toMatchObject({ version: true, _source: ['removed'], query: { range: { id: { gte: 1, lte: 5 } } }, sort: [{ id: { order: 'asc' } }] });
  });
});

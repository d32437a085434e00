// The _search bodies the OpenSearch engine sends, per sort, filter, facet and page position. No
// OpenSearch runs here: these pin the request shapes of OpenSearch's query DSL documentation.
import { describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.ts';
import { FACETS, MAX_ATTRIBUTE_FACETS, MAX_FACET_VALUES, MIN_ATTRIBUTE_FACET_PRODUCTS, PRICE_BUCKETS, type SearchRequest } from '../../src/catalog/search.ts';
import { countBody, searchBody, SORTS } from '../../src/search/opensearch-query.ts';

const US = '\u001f';
const settings = { trackTotalHitsUpTo: 10_000 };

function request(overrides: Partial<SearchRequest> = {}): SearchRequest {
  return { q: 'nike running shoe', filters: { attributes: [] }, sort: 'relevance', limit: 24, cursor: undefined, facets: [...FACETS], ...overrides };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the JSON bodies by path
type Body = Record<string, any>;
const body = (overrides: Partial<SearchRequest> = {}) => searchBody(request(overrides), settings) as Body;

const navy = { nested: { path: 'attributes', query: { bool: { filter: [{ term: { 'attributes.name': 'Color' } }, { terms: { 'attributes.value': ['Blue', 'Navy'] } }] } } } };
const cotton = { nested: { path: 'attributes', query: { bool: { filter: [{ term: { 'attributes.name': 'Fabric' } }, { terms: { 'attributes.value': ['Cotton'] } }] } } } };
const brand = { term: { 'brand.id': 7 } };
const price = { range: { priceMin: { gte: 50_000, lte: 200_000 } } };
const filtered = { attributes: [{ name: 'Color', values: ['Blue', 'Navy'] }, { name: 'Fabric', values: ['Cotton'] }], brandId: 7, minPrice: 50_000, maxPrice: 200_000 };

describe('when a query is searched', () => {
  it('then every word must occur in the product text with typos allowed, and name, brand, categories and description score by boost', () => {
    const query = body().query.bool;
    expect(query.must[0].bool.must).toEqual([
      { match: { searchText: { query: 'nike running shoe', operator: 'and', fuzziness: 'AUTO', prefix_length: 1, auto_generate_synonyms_phrase_query: false } } },
    ]);
    const [exact, fuzzy, phrase] = query.must[0].bool.should;
    expect(exact.multi_match).toMatchObject({ query: 'nike running shoe', fields: ['name^4', 'brand.name^3', 'categories.name^2', 'description^1'] });
    expect(exact.multi_match.fuzziness).toBeUndefined();
    // A multi-word synonym must not become a phrase query where fuzziness applies.
    expect(fuzzy.multi_match).toMatchObject({ fuzziness: 'AUTO', boost: 0.3, auto_generate_synonyms_phrase_query: false });
    expect(phrase).toEqual({ match_phrase: { name: { query: 'nike running shoe', slop: 2, boost: 2 } } });
  });

  it('then tombstones are filtered out, one more hit than the page is asked for, and the total is counted up to the cap', () => {
    const searched = body({ limit: 10 });
    expect(searched.query.bool.filter).toEqual([{ term: { removed: false } }]);
    expect(searched.size).toBe(11);
    expect(searched.track_total_hits).toBe(10_000);
    expect(searched.post_filter).toBeUndefined();
  });

  it('then name and description are highlighted with <em>, HTML-encoded, the name whole', () => {
    expect(body().highlight).toEqual({
      pre_tags: ['<em>'],
      post_tags: ['</em>'],
      encoder: 'html',
      fields: { name: { number_of_fragments: 0 }, description: { fragment_size: 160, number_of_fragments: 1 } },
    });
  });

  it('then a phrase suggester asks for a spelling that still finds every word', () => {
    const suggester = body().suggest.spelling;
    expect(suggester.text).toBe('nike running shoe');
    expect(suggester.phrase).toMatchObject({ field: 'spelling', size: 1, direct_generator: [{ field: 'spelling', suggest_mode: 'always' }] });
    expect(JSON.stringify(suggester.phrase.collate.query.source)).toContain('{{suggestion}}');
    expect(suggester.phrase.collate.prune).toBe(false);
  });
});

describe('when results are sorted', () => {
  it.each([
    ['relevance', [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }]],
    ['price_asc', [{ priceMin: { order: 'asc' } }, { id: { order: 'asc' } }]],
    ['price_desc', [{ priceMin: { order: 'desc' } }, { id: { order: 'desc' } }]],
    ['newest', [{ createdAt: { order: 'desc' } }, { id: { order: 'desc' } }]],
    ['rating', [{ rating: { order: 'desc', missing: 0 } }, { id: { order: 'desc' } }]],
  ] as const)('then %s sorts with the product id as the tiebreaker', (sort, expected) => {
    expect(body({ sort }).sort).toEqual(expected);
    expect(SORTS[sort].at(-1)).toHaveProperty('id');
  });
});

describe('when a page after the first is asked for', () => {
  it("then this engine's cursor resumes by search_after", () => {
    const searched = body({ cursor: { engine: 'opensearch', offset: 24, after: [3.5, 1041] } });
    expect(searched.search_after).toEqual([3.5, 1041]);
    expect(searched.from).toBeUndefined();
  });

  it("then another engine's cursor resumes at its offset", () => {
    const searched = body({ cursor: { engine: 'postgres', offset: 48, after: ['3.5', 1041] } });
    expect(searched.from).toBe(48);
    expect(searched.search_after).toBeUndefined();
  });

  it('then an offset past the result window is a 400 invalid-cursor, not an OpenSearch error', () => {
    const deep = () => body({ cursor: { engine: 'postgres', offset: 9_990, after: null } });
    expect(deep).toThrow(CatalogError);
    expect(deep).toThrow(/10000/);
  });
});

describe('when filters are active', () => {
  it('then category and stock filter hits and facets alike, the category by its id among the ancestors', () => {
    const searched = body({ filters: { attributes: [], categoryPath: '3.17.42', inStock: true } });
    expect(searched.query.bool.filter).toEqual([{ term: { removed: false } }, { term: { 'categories.id': 42 } }, { term: { inStock: true } }]);
    expect(searched.aggs.category.aggs.values.terms).toEqual({ field: 'categoryKeys', include: `3\\.17\\.42\\.[0-9]+${US}.*`, size: 200 });
  });

  it('then brand, price and attribute filters go to post_filter, so facets can count without their own', () => {
    const searched = body({ filters: filtered });
    expect(searched.query.bool.filter).toEqual([{ term: { removed: false } }]);
    expect(searched.post_filter).toEqual({ bool: { filter: [brand, price, navy, cotton] } });
  });

  it("then each facet's aggregation applies every facet filter except its own", () => {
    const aggs = body({ filters: filtered }).aggs;
    expect(aggs.brand.filter).toEqual({ bool: { filter: [price, navy, cotton] } });
    expect(aggs.price.filter).toEqual({ bool: { filter: [brand, navy, cotton] } });
    expect(aggs.category.filter).toEqual({ bool: { filter: [brand, price, navy, cotton] } });
    expect(aggs.attributes.filter).toEqual({ bool: { filter: [brand, price, navy, cotton] } });
    expect(aggs.attribute_0.filter).toEqual({ bool: { filter: [brand, price, cotton] } });
    expect(aggs.attribute_1.filter).toEqual({ bool: { filter: [brand, price, navy] } });
    expect(aggs.attribute_0.aggs.nested.aggs.named.filter).toEqual({ term: { 'attributes.name': 'Color' } });
  });

  it('then without facets every filter narrows the query itself and no aggregation runs', () => {
    const searched = body({ filters: filtered, facets: [] });
    expect(searched.query.bool.filter).toEqual([{ term: { removed: false } }, brand, price, navy, cotton]);
    expect(searched.post_filter).toBeUndefined();
    expect(searched.aggs).toBeUndefined();
  });

  it('then only a minimum price bounds the price from below', () => {
    expect(body({ filters: { attributes: [], minPrice: 100 } }).post_filter).toEqual({ bool: { filter: [{ range: { priceMin: { gte: 100 } } }] } });
  });
});

describe('when facets are asked for', () => {
  it('then only those are aggregated', () => {
    expect(Object.keys(body({ facets: ['brand'] }).aggs)).toEqual(['brand']);
  });

  it('then categories are the roots without a category filter, and brands the most frequent ones', () => {
    const aggs = body().aggs;
    expect(aggs.category.aggs.values.terms.include).toBe(`[0-9]+${US}.*`);
    expect(aggs.brand.aggs.values.terms).toEqual({ field: 'brandKey', size: MAX_FACET_VALUES });
  });

  it('then the price facet asks for every bucket of PRICE_BUCKETS, the last open-ended', () => {
    const ranges = body().aggs.price.aggs.values.range;
    expect(ranges.field).toBe('priceMin');
    expect(ranges.ranges).toHaveLength(PRICE_BUCKETS.length);
    expect(ranges.ranges[0]).toEqual({ from: 0, to: 50_000 });
    expect(ranges.ranges.at(-1)).toEqual({ from: 2_500_000 });
  });

  it('then attribute names are nested terms with the contract limits, the selected ones left to their own aggregations', () => {
    const names = body({ filters: filtered }).aggs.attributes.aggs.nested;
    expect(names.nested).toEqual({ path: 'attributes' });
    expect(names.aggs.names.terms).toEqual({ field: 'attributes.name', size: MAX_ATTRIBUTE_FACETS, min_doc_count: MIN_ATTRIBUTE_FACET_PRODUCTS, exclude: ['Color', 'Fabric'] });
    expect(names.aggs.names.aggs.values.terms).toEqual({ field: 'attributes.value', size: MAX_FACET_VALUES });
    expect(body().aggs.attributes.aggs.nested.aggs.names.terms.exclude).toBeUndefined();
  });
});

describe('when a relaxed query is counted', () => {
  it('then the count applies every filter in the query and fetches no hits', () => {
    const counted = countBody('running shoe', filtered, settings) as Body;
    expect(counted.size).toBe(0);
    expect(counted.query.bool.must[0].match.searchText.query).toBe('running shoe');
    expect(counted.query.bool.filter).toEqual([{ term: { removed: false } }, brand, price, navy, cotton]);
  });
});

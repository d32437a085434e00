// Reading OpenSearch's _search answers (shaped like its documentation's examples) into the search
// contract: hits and highlights, the total and whether it is an estimate, the next page's position,
// facets from the aggregations, and the spelling suggestion.
import { describe, expect, it } from 'vitest';
import { FACETS, MAX_ATTRIBUTE_FACETS, PRICE_BUCKETS, type SearchRequest } from '../../src/catalog/search.ts';
import { parseSearchResponse } from '../../src/search/opensearch-results.ts';
import { facetAggregations, hit, searchResponse } from '../support/opensearch-fixtures.ts';

function request(overrides: Partial<SearchRequest> = {}): SearchRequest {
  return { q: 'nike runing', filters: { attributes: [] }, sort: 'price_asc', limit: 2, cursor: undefined, facets: [...FACETS], ...overrides };
}

describe('when hits come back', () => {
  it('then each becomes a product summary with its highlights, escaped as OpenSearch sent them', () => {
    const body = searchResponse({
      hits: [hit(41, [1_000, 41], { name: 'Nike Air <Zoom>', rating: 4.3 }, { name: ['<em>Nike</em> Air &lt;Zoom&gt;'], description: ['light <em>running</em> shoe'] })],
    });
    const [item] = parseSearchResponse(body, request()).items;
    expect(item).toEqual({
      id: 41,
      slug: 'product-41',
      name: 'Nike Air <Zoom>',
      brand: { slug: 'nike', name: 'Nike' },
      image: null,
      price: { min: 1_000, max: 2_000, currency: 'INR' },
      inStock: true,
      rating: 4.3,
      highlight: { name: '<em>Nike</em> Air &lt;Zoom&gt;', description: 'light <em>running</em> shoe' },
    });
  });

  it('then a hit without highlight has an empty highlight, and a product without brand has brand null', () => {
    const [item] = parseSearchResponse(searchResponse({ hits: [hit(5, [1, 5], { brand: null })] }), request()).items;
    expect(item!.highlight).toEqual({});
    expect(item!.brand).toBeNull();
  });

  it('then the extra hit says there is a next page, which resumes after the last shown hit', () => {
    const body = searchResponse({ hits: [hit(1, [100, 1]), hit(2, [100, 2]), hit(3, [200, 3])] });
    const result = parseSearchResponse(body, request({ cursor: { engine: 'opensearch', offset: 4, after: [50, 9] } }));
    expect(result.items.map((item) => item.id)).toEqual([1, 2]);
    expect(result.next).toEqual({ offset: 6, after: [100, 2] });
  });

  it('then a page without the extra hit is the last', () => {
    expect(parseSearchResponse(searchResponse({ hits: [hit(1, [100, 1]), hit(2, [100, 2])] }), request()).next).toBeNull();
  });

  it('then a total counted to the cap is an estimate, an exact one is not', () => {
    expect(parseSearchResponse(searchResponse({ total: { value: 10_000, relation: 'gte' } }), request()).total).toEqual({ value: 10_000, estimate: true });
    expect(parseSearchResponse(searchResponse({ total: { value: 37, relation: 'eq' } }), request()).total).toEqual({ value: 37, estimate: false });
  });
});

describe('when the phrase suggester answers', () => {
  it('then its correction is didYouMean', () => {
    expect(parseSearchResponse(searchResponse({ suggestion: 'nike running' }), request()).didYouMean).toBe('nike running');
  });

  it('then no option, or one that only differs in case, is no suggestion', () => {
    expect(parseSearchResponse(searchResponse({ suggestion: null }), request()).didYouMean).toBeNull();
    expect(parseSearchResponse(searchResponse({ suggestion: 'nike runing' }), request({ q: 'Nike Runing' })).didYouMean).toBeNull();
  });
});

describe('when aggregations come back', () => {
  const facets = parseSearchResponse(searchResponse({ aggregations: facetAggregations }), request({ filters: { attributes: [{ name: 'Color', values: ['Navy'] }] } })).facets;

  it('then the category facet lists the children with id, slug, name and count', () => {
    expect(facets.category).toEqual([
      { id: 42, slug: 'sports-shoes', name: 'Sports Shoes', count: 20 },
      { id: 43, slug: 'casual-shoes', name: 'Casual Shoes', count: 11 },
    ]);
  });

  it('then the brand facet lists slug, name and count, most frequent first', () => {
    expect(facets.brand).toEqual([
      { slug: 'nike', name: 'Nike', count: 25 },
      { slug: 'puma', name: 'Puma', count: 15 },
    ]);
  });

  it('then the price facet lists every bucket of PRICE_BUCKETS, empty ones too', () => {
    expect(facets.price).toEqual(PRICE_BUCKETS.map(([from, to], index) => ({ from, to, count: [2, 0, 9, 20, 0, 0, 0][index] })));
  });

  it('then price buckets are matched by their lower bound, whatever order they come in', () => {
    const reversed = { price: { doc_count: 31, values: { buckets: [...facetAggregations.price.values.buckets].reverse() } } };
    const counts = parseSearchResponse(searchResponse({ aggregations: reversed }), request({ facets: ['price'] })).facets.price!.map((bucket) => bucket.count);
    expect(counts).toEqual([2, 0, 9, 20, 0, 0, 0]);
  });

  it('then a selected attribute comes with its own counts, and the others by how many products carry them', () => {
    expect(facets.attributes).toEqual([
      { name: 'Color', values: [{ value: 'Navy', count: 21 }, { value: 'Black', count: 12 }] },
      { name: 'Ideal For', values: [{ value: 'Men', count: 30 }] },
      { name: 'Occasion', values: [{ value: 'Sports', count: 8 }, { value: 'Casual', count: 4 }] },
    ]);
  });

  it('then selected attributes keep their place among at most MAX_ATTRIBUTE_FACETS, pushing out the least carried others', () => {
    const others = Array.from({ length: MAX_ATTRIBUTE_FACETS }, (_, n) => ({ key: `Other ${n}`, doc_count: 100 - n, values: { buckets: [] } }));
    const named = (doc_count: number) => ({ doc_count: 1, nested: { doc_count, named: { doc_count, values: { buckets: [] } } } });
    const aggregations = { attributes: { doc_count: 1, nested: { doc_count: 1, names: { buckets: others } } }, attribute_0: named(5), attribute_1: named(500) };
    const selected = { attributes: [{ name: 'Color', values: ['Navy'] }, { name: 'Fabric', values: ['Cotton'] }] };
    const names = parseSearchResponse(searchResponse({ aggregations }), request({ filters: selected })).facets.attributes!.map((facet) => facet.name);
    expect(names).toHaveLength(MAX_ATTRIBUTE_FACETS);
    expect(names[0]).toBe('Fabric');
    expect(names).toContain('Color');
    expect(names).not.toContain(`Other ${MAX_ATTRIBUTE_FACETS - 1}`);
    expect(names).not.toContain(`Other ${MAX_ATTRIBUTE_FACETS - 2}`);
  });

  it('then only the facets asked for are in the result, and a missing aggregation is an empty facet', () => {
    const result = parseSearchResponse(searchResponse({}), request({ facets: ['brand', 'price'] }));
    expect(Object.keys(result.facets)).toEqual(['brand', 'price']);
    expect(result.facets.brand).toEqual([]);
    expect(result.facets.price!.every((bucket) => bucket.count === 0)).toBe(true);
  });
});

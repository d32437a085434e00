// Documents and OpenSearch answers for the engine's tests, shaped like the response examples of
// OpenSearch's documentation (search with hits, highlight, sort values, aggregations and suggest;
// _bulk items with and without errors; _msearch responses).
import type { SearchDocument } from '../../src/catalog/search-document.ts';
import type { SearchResponseBody } from '../../src/search/opensearch-results.ts';

const US = '\u001f';

export const shoe: SearchDocument = {
  id: 41,
  version: 6,
  slug: 'nike-air-zoom-running-shoe',
  name: 'Nike Air Zoom Running Shoe',
  description: 'Light <mesh> upper & cushioned sole',
  brand: { id: 7, slug: 'nike', name: 'Nike' },
  categories: [
    { id: 3, slug: 'footwear', name: 'Footwear' },
    { id: 17, slug: 'mens-footwear', name: "Men's Footwear" },
    { id: 42, slug: 'sports-shoes', name: 'Sports Shoes' },
  ],
  attributes: { Color: 'Navy', 'Ideal For': 'Men' },
  image: 'https://img.example/41.jpg',
  priceMin: 349_900,
  priceMax: 399_900,
  currency: 'INR',
  inStock: true,
  rating: 4.3,
  createdAt: '2025-03-01T10:00:00.000Z',
};

const shards = { total: 1, successful: 1, skipped: 0, failed: 0 };

export function hit(id: number, sort: (string | number)[], overrides: Record<string, unknown> = {}, highlight?: Record<string, string[]>) {
  return {
    _index: 'catalog-products-20261130-070000000',
    _id: String(id),
    _score: null,
    _source: {
      id,
      slug: `product-${id}`,
      name: `Product ${id}`,
      brand: { id: 7, slug: 'nike', name: 'Nike' },
      image: null,
      priceMin: 1_000,
      priceMax: 2_000,
      currency: 'INR',
      inStock: true,
      rating: null,
      ...overrides,
    },
    ...(highlight ? { highlight } : {}),
    sort,
  };
}

/** A _search answer: hits, total, and (when given) aggregations and the spelling suggestion. */
export function searchResponse(options: {
  hits?: unknown[];
  total?: { value: number; relation: 'eq' | 'gte' };
  aggregations?: unknown;
  suggestion?: string | null;
  text?: string;
}): SearchResponseBody {
  const hits = options.hits ?? [];
  return {
    took: 12,
    timed_out: false,
    _shards: shards,
    hits: { total: options.total ?? { value: hits.length, relation: 'eq' }, max_score: null, hits },
    ...(options.aggregations === undefined ? {} : { aggregations: options.aggregations }),
    suggest: {
      spelling: [
        {
          text: options.text ?? 'nike runing',
          offset: 0,
          length: (options.text ?? 'nike runing').length,
          options: options.suggestion ? [{ text: options.suggestion, score: 0.31666178 }] : [],
        },
      ],
    },
  } as unknown as SearchResponseBody;
}

const terms = (buckets: { key: string; doc_count: number }[]) => ({ doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets });

/** Aggregations as OpenSearch answers the facet aggregations of opensearch-query.ts. */
export const facetAggregations = {
  category: {
    doc_count: 31,
    values: terms([
      { key: `3.17.42${US}sports-shoes${US}Sports Shoes`, doc_count: 20 },
      { key: `3.17.43${US}casual-shoes${US}Casual Shoes`, doc_count: 11 },
    ]),
  },
  brand: {
    doc_count: 40,
    values: terms([
      { key: `nike${US}Nike`, doc_count: 25 },
      { key: `puma${US}Puma`, doc_count: 15 },
    ]),
  },
  price: {
    doc_count: 31,
    values: {
      buckets: [
        { key: '0.0-50000.0', from: 0, to: 50_000, doc_count: 2 },
        { key: '50000.0-100000.0', from: 50_000, to: 100_000, doc_count: 0 },
        { key: '100000.0-200000.0', from: 100_000, to: 200_000, doc_count: 9 },
        { key: '200000.0-500000.0', from: 200_000, to: 500_000, doc_count: 20 },
        { key: '500000.0-1000000.0', from: 500_000, to: 1_000_000, doc_count: 0 },
        { key: '1000000.0-2500000.0', from: 1_000_000, to: 2_500_000, doc_count: 0 },
        { key: '2500000.0-*', from: 2_500_000, doc_count: 0 },
      ],
    },
  },
  attributes: {
    doc_count: 31,
    nested: {
      doc_count: 70,
      names: terms([
        { key: 'Ideal For', doc_count: 30, values: terms([{ key: 'Men', doc_count: 30 }]) } as never,
        { key: 'Occasion', doc_count: 12, values: terms([{ key: 'Sports', doc_count: 8 }, { key: 'Casual', doc_count: 4 }]) } as never,
      ]),
    },
  },
  attribute_0: {
    doc_count: 36,
    nested: { doc_count: 80, named: { doc_count: 33, values: terms([{ key: 'Navy', doc_count: 21 }, { key: 'Black', doc_count: 12 }]) } },
  },
};

/** A _bulk answer: one item per action, with `status` and, for a failure, `error`. */
export function bulkResponse(items: { id: string; status: number; error?: { type: string; reason: string } }[]) {
  return {
    took: 30,
    errors: items.some((item) => item.error !== undefined),
    items: items.map(({ id, status, error }) => ({
      index: error
        ? { _index: 'catalog-products-1', _id: id, status, error: { ...error, index: 'catalog-products-1', shard: '0', index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA' } }
        : { _index: 'catalog-products-1', _id: id, _version: 6, result: 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1, status },
    })),
  };
}

export const versionConflict = {
  type: 'version_conflict_engine_exception',
  reason: '[41]: version conflict, current version [7] is higher or equal to the one provided [6]',
};

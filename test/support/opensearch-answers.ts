// What a stand-in OpenSearch answers (test/integration/search-fallback.test.ts): bodies shaped like
// the _search and _msearch responses in OpenSearch's documentation, with one product found.
export function openSearchAnswer(url: string, body: string): unknown {
  if (url.includes('_msearch')) {
    const searches = body.trim().split('\n').length / 2;
    return { took: 1, responses: Array.from({ length: searches }, () => ({ took: 1, timed_out: false, hits: { total: { value: 0, relation: 'eq' }, hits: [] } })) };
  }
  return {
    took: 2,
    timed_out: false,
    _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: {
      total: { value: 1, relation: 'eq' },
      max_score: 3.2,
      hits: [
        {
          _index: 'catalog-products-20261130t000000',
          _id: '1',
          _score: 3.2,
          _source: {
            id: 1,
            slug: 'stand-in-lamp',
            name: 'Stand-in Lamp',
            brand: null,
            image: null,
            priceMin: 49900,
            priceMax: 49900,
            currency: 'INR',
            inStock: true,
            rating: null,
          },
          sort: [3.2, 1],
        },
      ],
    },
    aggregations: {},
  };
}

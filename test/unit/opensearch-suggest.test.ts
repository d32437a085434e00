// /products/suggest on OpenSearch: the body (product name prefixes, brands and categories over all
// listed products), the category prefix pattern, how the answer is merged, and the highlight of the
// typed prefix.
import { describe, expect, it } from 'vitest';
import { categoryPrefixPattern, highlightPrefix, parseSuggestResponse, suggestBody } from '../../src/search/opensearch-suggest.ts';

const US = '\u001f';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the JSON body by path
const body = suggestBody('Men Sh', 8) as Record<string, any>;

describe('when completions are asked for', () => {
  it('then products match every typed word as a prefix of a name word, listed ones only', () => {
    expect(body.size).toBe(8);
    expect(body.query.bool.filter).toEqual([{ term: { removed: false } }]);
    expect(body.query.bool.must).toEqual([{ match: { 'name.prefix': { query: 'Men Sh', operator: 'and' } } }]);
    expect(body.query.bool.should).toEqual([{ match_phrase: { 'name.prefix': { query: 'Men Sh' } } }]);
  });

  it('then brands and categories are aggregated over every listed product, not only the matching names', () => {
    expect(body.aggs.brands.global).toEqual({});
    expect(body.aggs.brands.aggs.matching.filter.bool.filter).toEqual([{ term: { removed: false } }, { match: { 'brand.name.prefix': { query: 'Men Sh', operator: 'and' } } }]);
    expect(body.aggs.brands.aggs.matching.aggs.values.terms).toEqual({ field: 'brandKey', size: 8 });
    expect(body.aggs.categories.global).toEqual({});
    expect(body.aggs.categories.aggs.matching.aggs.values.terms).toEqual({ field: 'categorySuggestKeys', include: categoryPrefixPattern('men sh'), size: 8 });
  });

  it('then the category pattern finds the typed words at the start of a word of the folded name only', () => {
    const pattern = new RegExp(`^${categoryPrefixPattern('men sh')}$`);
    expect(pattern.test(`men shirts${US}men-shirts${US}Men Shirts`)).toBe(true);
    expect(pattern.test(`casual men shoes${US}casual-men-shoes${US}Casual Men Shoes`)).toBe(true);
    expect(pattern.test(`women shirts${US}women-shirts${US}Women Shirts`)).toBe(false);
    expect(pattern.test(`shirts${US}men-shirts${US}men shirts`)).toBe(false);
    expect(categoryPrefixPattern('a.b')).toContain('a\\.b');
  });
});

describe('when the answer is merged', () => {
  const answer = {
    hits: { hits: [1, 2, 3, 4, 5, 6].map((n) => ({ _source: { slug: `shirt-${n}`, name: `Men Shirt ${n}` } })) },
    aggregations: {
      brands: { doc_count: 900, matching: { doc_count: 4, values: { buckets: [{ key: `menz${US}Menz`, doc_count: 4 }] } } },
      categories: {
        doc_count: 900,
        matching: {
          doc_count: 60,
          values: {
            buckets: [
              { key: `men shirts${US}men-shirts${US}Men Shirts`, doc_count: 50 },
              { key: `men shorts${US}men-shorts${US}Men Shorts`, doc_count: 10 },
              { key: `men shoes${US}men-shoes${US}Men Shoes`, doc_count: 5 },
            ],
          },
        },
      },
    },
  };

  it('then brands and categories come first, at most a quarter each, and products fill the rest', () => {
    const suggestions = parseSuggestResponse(answer, 'men sh', 8);
    expect(suggestions.map((s) => `${s.kind}:${s.slug}`)).toEqual([
      'brand:menz',
      'category:men-shirts',
      'category:men-shorts',
      'product:shirt-1',
      'product:shirt-2',
      'product:shirt-3',
      'product:shirt-4',
      'product:shirt-5',
    ]);
  });

  it('then what products leave unused goes to more categories', () => {
    const few = { ...answer, hits: { hits: answer.hits.hits.slice(0, 1) } };
    expect(parseSuggestResponse(few, 'men sh', 8).map((s) => s.slug)).toEqual(['menz', 'men-shirts', 'men-shorts', 'shirt-1', 'men-shoes']);
  });

  it('then a suggestion carries its text and the typed prefix highlighted', () => {
    expect(parseSuggestResponse(answer, 'men sh', 2)[1]).toEqual({ kind: 'category', text: 'Men Shirts', slug: 'men-shirts', highlight: '<em>Men</em> <em>Sh</em>irts' });
  });
});

describe('when the typed prefix is highlighted', () => {
  it('then the start of each word the typed words begin is wrapped, case and accents aside', () => {
    expect(highlightPrefix('Nike Air Max', 'ni ma')).toBe('<em>Ni</em>ke Air <em>Ma</em>x');
    expect(highlightPrefix('Café Crème', 'cafe')).toBe('<em>Café</em> Crème');
  });

  it('then the rest is HTML-escaped', () => {
    expect(highlightPrefix('Tom & Jerry <Kids>', 'kid')).toBe('Tom &amp; Jerry &lt;<em>Kid</em>s&gt;');
  });

  it('then nothing typed that begins a word leaves the text only escaped', () => {
    expect(highlightPrefix('Shirt "Slim"', 'xyz')).toBe('Shirt &quot;Slim&quot;');
  });
});

// /products/suggest on OpenSearch: completions for what has been typed so far, in one _search.
// Products match by word prefixes of their name (the edge n-gram subfield `name.prefix`); brands and
// categories are aggregated over every listed product (a global aggregation, so a brand is offered
// even when no product name starts with what was typed), the categories' keys filtered by a regular
// expression on the folded name so only the category whose own name matches is offered.
import type { API, Types } from '@opensearch-project/opensearch';
import { mixSuggestions, type Suggestion } from '../catalog/search.ts';
import { foldForPrefix, KEY_SEPARATOR } from './opensearch-index.ts';
import { termsAggregation } from './opensearch-query.ts';
import { highlightPrefixes } from './search-text.ts';

const listed: Types.Common_QueryDsl.QueryContainer = { term: { removed: false } };

export function suggestBody(q: string, limit: number): API.Search_RequestBody {
  const folded = foldForPrefix(q);
  return {
    size: limit,
    _source: ['slug', 'name'],
    query: {
      bool: {
        filter: [listed],
        must: [{ match: { 'name.prefix': { query: q, operator: 'and' } } }],
        // Names holding the typed words in order, one after the other, first: on the edge n-grams a
        // phrase is a phrase of prefixes ("men sh" ranks "Men Shirt" above "Shirt for Men").
        should: [{ match_phrase: { 'name.prefix': { query: q } } }],
      },
    },
    sort: [{ _score: { order: 'desc' } }, { rating: { order: 'desc', missing: 0 } }, { id: { order: 'asc' } }],
    aggs: {
      brands: {
        global: {},
        aggs: {
          matching: {
            filter: { bool: { filter: [listed, { match: { 'brand.name.prefix': { query: q, operator: 'and' } } }] } },
            aggs: { values: termsAggregation('brandKey', { size: limit }) },
          },
        },
      },
      categories: {
        global: {},
        aggs: {
          matching: {
            filter: { bool: { filter: [listed, { match: { 'categories.name.prefix': { query: q, operator: 'and' } } }] } },
            aggs: { values: termsAggregation('categorySuggestKeys', { include: categoryPrefixPattern(folded), size: limit }) },
          },
        },
      },
    },
  };
}

/**
 * Lucene regexp over categorySuggestKeys (`<folded name><US>slug<US>name`): the folded name has a
 * word starting with the folded typed text ("men sh" finds "Men Shirts" and "Casual Men Shirts").
 */
export function categoryPrefixPattern(folded: string): string {
  const notSeparator = `[^${KEY_SEPARATOR}]`;
  return `(${notSeparator}* )?${escapeRegexp(folded)}${notSeparator}*${KEY_SEPARATOR}.*`;
}

function escapeRegexp(text: string): string {
  return text.replace(/[.?+*|{}[\]()"\\#@&<>~]/g, '\\$&');
}

interface SuggestResponseBody {
  hits?: { hits?: { _source?: { slug: string; name: string } }[] };
  aggregations?: Record<string, { matching?: { values?: { buckets?: { key: string }[] } } }>;
}

/** The suggestions an answer holds, in the order both engines give (mixSuggestions). */
export function parseSuggestResponse(body: SuggestResponseBody, q: string, limit: number): Suggestion[] {
  const keys = (name: string) => (body.aggregations?.[name]?.matching?.values?.buckets ?? []).map((bucket) => String(bucket.key).split(KEY_SEPARATOR));
  const brands = keys('brands').map(([slug = '', name = '']): Suggestion => suggestion('brand', name, slug, q));
  const categories = keys('categories').map(([, slug = '', name = '']): Suggestion => suggestion('category', name, slug, q));
  const products = (body.hits?.hits ?? []).flatMap((hit) => (hit._source ? [suggestion('product', hit._source.name, hit._source.slug, q)] : []));
  return mixSuggestions(brands, categories, products, limit);
}

function suggestion(kind: Suggestion['kind'], text: string, slug: string, q: string): Suggestion {
  return { kind, text, slug, highlight: highlightPrefix(text, q) };
}

/**
 * `text` HTML-escaped, with the start of each word that a typed word is a prefix of wrapped in
 * <em></em> (case and accents aside: "cafe" marks "Café"), as the PostgreSQL engine highlights.
 */
export function highlightPrefix(text: string, q: string): string {
  return highlightPrefixes(text, foldForPrefix(q).split(' ').filter((word) => word !== ''));
}

// The _search body for one SearchRequest. Matching: every word of the query must occur (operator
// and, typo-tolerant by edit distance) in the product's text, whichever field holds it; scoring:
// BM25 over name, brand, category names and description with field boosts, exact words above
// fuzzy ones, the name's phrase above both. Facets follow the disjunctive pattern: the filters a
// facet counts over go to post_filter, and each facet's aggregation applies all of them but its own.
import { CatalogError } from '../catalog/catalog-error.ts';
import {
  MAX_ATTRIBUTE_FACETS,
  MAX_FACET_VALUES,
  MIN_ATTRIBUTE_FACET_PRODUCTS,
  PRICE_BUCKETS,
  type AttributeFilter,
  type SearchFilters,
  type SearchRequest,
  type SearchSort,
} from '../catalog/search.ts';
import { KEY_SEPARATOR, MAX_RESULT_WINDOW } from './opensearch-index.ts';

import type { API, Types } from '@opensearch-project/opensearch';

// The client's types are generated from OpenSearch's API specification: a body that does not fit
// the documented DSL fails to compile.
type Query = Types.Common_QueryDsl.QueryContainer;
type Aggregations = Record<string, Types.Common_Aggregations.AggregationContainer>;
type Sort = Types.Common.SortCombinations[];

/** Field boosts: a word in the name says more about the product than one in its description. */
export const FIELD_BOOSTS = ['name^4', 'brand.name^3', 'categories.name^2', 'description^1'] as const;
/** Children of one category listed in its facet (the widest category in the bundled data has fewer). */
export const CATEGORY_FACET_SIZE = 200;

export interface SearchBodySettings {
  /** Counted exactly up to this many hits; past it the total is a lower bound (estimate: true). */
  trackTotalHitsUpTo: number;
}

/** What decides whether a product matches: every word somewhere in its text, typos allowed. */
export function everyWord(q: string): Query {
  // auto_generate_synonyms_phrase_query off: a multi-word synonym ("t shirt") becomes words that
  // must all occur, which fuzziness can apply to; a phrase query cannot be fuzzy.
  return { match: { searchText: { query: q, operator: 'and', fuzziness: 'AUTO', prefix_length: 1, auto_generate_synonyms_phrase_query: false } } };
}

/** The text part: every word required (everyWord), scored by field. */
export function matchQuery(q: string): Query {
  return {
    bool: {
      must: [everyWord(q)],
      should: [
        { multi_match: { query: q, type: 'best_fields', fields: [...FIELD_BOOSTS], tie_breaker: 0.3 } },
        {
          multi_match: {
            query: q,
            type: 'best_fields',
            fields: [...FIELD_BOOSTS],
            tie_breaker: 0.3,
            fuzziness: 'AUTO',
            prefix_length: 1,
            auto_generate_synonyms_phrase_query: false,
            boost: 0.3,
          },
        },
        { match_phrase: { name: { query: q, slop: 2, boost: 2 } } },
      ],
    },
  };
}

/** The filters no facet counts over: what every aggregation and hit shares. */
export function sharedFilters(filters: SearchFilters): Query[] {
  const shared: Query[] = [{ term: { removed: false } }];
  const categoryId = categoryIdOf(filters.categoryPath);
  if (categoryId !== undefined) shared.push({ term: { 'categories.id': categoryId } });
  if (filters.inStock !== undefined) shared.push({ term: { inStock: filters.inStock } });
  return shared;
}

/** The filters each of which one facet leaves out when counting. */
export interface FacetFilters {
  brand: Query | undefined;
  price: Query | undefined;
  attributes: { name: string; query: Query }[];
}

export function facetFilters(filters: SearchFilters): FacetFilters {
  const price: Record<string, number> = {};
  if (filters.minPrice !== undefined) price.gte = filters.minPrice;
  if (filters.maxPrice !== undefined) price.lte = filters.maxPrice;
  return {
    brand: filters.brandId === undefined ? undefined : { term: { 'brand.id': filters.brandId } },
    price: Object.keys(price).length === 0 ? undefined : { range: { priceMin: price } },
    attributes: filters.attributes.map((attribute) => ({ name: attribute.name, query: attributeQuery(attribute) })),
  };
}

function attributeQuery({ name, values }: AttributeFilter): Query {
  return { nested: { path: 'attributes', query: { bool: { filter: [{ term: { 'attributes.name': name } }, { terms: { 'attributes.value': values } }] } } } };
}

function allOf(facet: FacetFilters, except?: 'brand' | 'price' | string): Query[] {
  const queries: Query[] = [];
  if (facet.brand && except !== 'brand') queries.push(facet.brand);
  if (facet.price && except !== 'price') queries.push(facet.price);
  for (const attribute of facet.attributes) if (except !== `attribute:${attribute.name}`) queries.push(attribute.query);
  return queries;
}

/**
 * A terms aggregation on `field`. The specification's TermsAggregationFields lacks `field`, which the
 * terms aggregation's documentation has; the rest of the options are checked against it.
 */
export function termsAggregation(field: string, options: Types.Common_Aggregations.TermsAggregationFields): Types.Common_Aggregations.AggregationContainer {
  return { terms: { field, ...options } as Types.Common_Aggregations.TermsAggregationFields };
}

const filtered = (queries: Query[], aggs: Aggregations): Types.Common_Aggregations.AggregationContainer => ({ filter: { bool: { filter: queries } }, aggs });

/** The aggregations of the facets asked for, each over every facet filter but its own. */
export function facetAggregations(request: SearchRequest, facet: FacetFilters): Aggregations {
  const aggs: Aggregations = {};
  const asked = new Set(request.facets);
  if (asked.has('category')) {
    // The category filter is shared (not a facet filter): the children of the filtered category
    // already count only its descendants, which is what leaving the filter out would count too.
    aggs.category = filtered(allOf(facet), {
      values: termsAggregation('categoryKeys', { include: childrenPattern(request.filters.categoryPath), size: CATEGORY_FACET_SIZE }),
    });
  }
  if (asked.has('brand')) aggs.brand = filtered(allOf(facet, 'brand'), { values: termsAggregation('brandKey', { size: MAX_FACET_VALUES }) });
  if (asked.has('price')) {
    const ranges = PRICE_BUCKETS.map(([from, to]) => (to === null ? { from } : { from, to }));
    aggs.price = filtered(allOf(facet, 'price'), { values: { range: { field: 'priceMin', ranges } } });
  }
  if (asked.has('attributes')) {
    const selected = facet.attributes.map((attribute) => attribute.name);
    aggs.attributes = filtered(allOf(facet), {
      nested: { nested: { path: 'attributes' }, aggs: { names: attributeNames(selected) } },
    });
    // A selected attribute counts its values over every filter but its own, so choosing Navy leaves
    // Blue's count as it was; one aggregation per selected attribute.
    facet.attributes.forEach((attribute, index) => {
      aggs[`attribute_${index}`] = filtered(allOf(facet, `attribute:${attribute.name}`), {
        nested: {
          nested: { path: 'attributes' },
          aggs: { named: { filter: { term: { 'attributes.name': attribute.name } }, aggs: { values: termsAggregation('attributes.value', { size: MAX_FACET_VALUES }) } } },
        },
      });
    });
  }
  return aggs;
}

function attributeNames(selected: string[]): Types.Common_Aggregations.AggregationContainer {
  const options: Types.Common_Aggregations.TermsAggregationFields = { size: MAX_ATTRIBUTE_FACETS, min_doc_count: MIN_ATTRIBUTE_FACET_PRODUCTS };
  if (selected.length > 0) options.exclude = selected;
  return { ...termsAggregation('attributes.name', options), aggs: { values: termsAggregation('attributes.value', { size: MAX_FACET_VALUES }) } };
}

/** Lucene regexp over categoryKeys (`path<US>slug<US>name`): the keys one level below the path (the roots without one). */
export function childrenPattern(categoryPath: string | undefined): string {
  const parent = categoryPath === undefined ? '' : `${categoryPath.split('.').map(Number).join('\\.')}\\.`;
  return `${parent}[0-9]+${KEY_SEPARATOR}.*`;
}

function categoryIdOf(categoryPath: string | undefined): number | undefined {
  if (categoryPath === undefined) return undefined;
  return Number(categoryPath.slice(categoryPath.lastIndexOf('.') + 1));
}

/** Each sort, with the product id last so equal keys keep one order and search_after resumes exactly. */
export const SORTS: Record<SearchSort, Sort> = {
  relevance: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
  price_asc: [{ priceMin: { order: 'asc' } }, { id: { order: 'asc' } }],
  price_desc: [{ priceMin: { order: 'desc' } }, { id: { order: 'desc' } }],
  newest: [{ createdAt: { order: 'desc' } }, { id: { order: 'desc' } }],
  // Unrated sorts as 0, as on the listings; a sort value that is a number keeps search_after plain.
  rating: [{ rating: { order: 'desc', missing: 0 } }, { id: { order: 'desc' } }],
};

export const HIGHLIGHT: Types.Core_Search.Highlight = {
  pre_tags: ['<em>'],
  post_tags: ['</em>'],
  encoder: 'html',
  fields: { name: { number_of_fragments: 0 }, description: { fragment_size: 160, number_of_fragments: 1 } },
};

export const SOURCE_FIELDS = ['id', 'slug', 'name', 'brand', 'image', 'priceMin', 'priceMax', 'currency', 'inStock', 'rating'];

const collateQuery: Query = { bool: { filter: [{ term: { removed: false } }, { match: { searchText: { query: '{{suggestion}}', operator: 'and' } } }] } };

/** The phrase suggester for didYouMean: corrections that still find a product with every word. */
export function spellingSuggester(q: string): Types.Core_Search.FieldSuggester {
  return {
    text: q,
    phrase: {
      field: 'spelling',
      size: 1,
      gram_size: 3,
      max_errors: 2,
      direct_generator: [{ field: 'spelling', suggest_mode: 'always' }],
      // The template as a string, as the specification types it; {{suggestion}} is each candidate.
      collate: { query: { source: JSON.stringify(collateQuery) }, prune: false },
    },
  };
}

export function searchBody(request: SearchRequest, settings: SearchBodySettings): API.Search_RequestBody {
  const facet = facetFilters(request.filters);
  const postFilters = allOf(facet);
  // Without facets, nothing needs the facet filters kept out of the query: they filter it directly.
  const inQuery = request.facets.length === 0;
  const body: API.Search_RequestBody = {
    size: request.limit + 1,
    track_total_hits: settings.trackTotalHitsUpTo,
    _source: SOURCE_FIELDS,
    query: { bool: { must: [matchQuery(request.q)], filter: [...sharedFilters(request.filters), ...(inQuery ? postFilters : [])] } },
    sort: SORTS[request.sort],
    highlight: HIGHLIGHT,
    suggest: { spelling: spellingSuggester(request.q) },
  };
  if (!inQuery && postFilters.length > 0) body.post_filter = { bool: { filter: postFilters } };
  if (!inQuery) body.aggs = facetAggregations(request, facet);
  Object.assign(body, pagePosition(request));
  return body;
}

/** search_after from this engine's own cursor; a position as an offset from another engine's. */
function pagePosition({ cursor, limit }: SearchRequest): Pick<API.Search_RequestBody, 'from' | 'search_after'> {
  if (cursor === undefined) return {};
  if (cursor.engine === 'opensearch' && cursor.after !== null) return { search_after: cursor.after };
  if (cursor.offset + limit + 1 > MAX_RESULT_WINDOW) {
    throw new CatalogError('invalid-cursor', `this cursor cannot go past result ${MAX_RESULT_WINDOW}; start the search again`);
  }
  return { from: cursor.offset };
}

/** One count per candidate query: how many products match with the same filters (for the relaxed retry). */
export function countBody(q: string, filters: SearchFilters, settings: SearchBodySettings): API.Search_RequestBody {
  return {
    size: 0,
    track_total_hits: settings.trackTotalHitsUpTo,
    query: { bool: { must: [everyWord(q)], filter: [...sharedFilters(filters), ...allOf(facetFilters(filters))] } },
  };
}

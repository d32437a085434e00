// Product search: what a search UI asks (/products/search, /products/suggest) and what it is answered,
// whichever engine answers it (search/search-port.ts: OpenSearch, or PostgreSQL as the embedded default
// and the fallback). The shapes here are the contract both engines meet and the one openapi.yaml shows.
import Type, { type Static } from 'typebox';
import { CatalogError } from './catalog-error.ts';
import { MAX_LISTING_LIMIT, DEFAULT_LISTING_LIMIT, ListingFilterParameters, ProductSummary, type ResolvedListingFilters } from './listing.ts';

export const SEARCH_SORTS = ['relevance', 'price_asc', 'price_desc', 'newest', 'rating'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

/** Longest query accepted, in characters after normalisation; longer is a 400, not a slow query. */
export const MAX_QUERY_LENGTH = 200;
export const MAX_SUGGESTIONS = 10;
export const DEFAULT_SUGGESTIONS = 8;

// ---- attribute filters (shared with /products) ----------------------------------------------------

/** `attr.Color=Navy&attr.Color=Blue&attr.Fabric=Cotton`: values of one attribute OR-ed, attributes AND-ed. */
export const ATTRIBUTE_PARAMETER_PREFIX = 'attr.';
export const MAX_ATTRIBUTE_FILTERS = 10;
export const MAX_ATTRIBUTE_VALUES = 20;
export const MAX_ATTRIBUTE_NAME_LENGTH = 100;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 200;

/** The query-string properties `attr.<name>` (coerced to arrays), for a route's querystring schema. */
export const attributeParameters = {
  patternProperties: {
    [`^attr\\.[^\\u0000-\\u001f\\u007f]{1,${MAX_ATTRIBUTE_NAME_LENGTH}}$`]: Type.Array(
      Type.String({ minLength: 1, maxLength: MAX_ATTRIBUTE_VALUE_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]*$' }),
      { minItems: 1, maxItems: MAX_ATTRIBUTE_VALUES, description: 'Products whose specification <name> is one of these values' },
    ),
  },
};

/** One attribute filter: the product's specification `name` is one of `values` (exact match). */
export interface AttributeFilter {
  name: string;
  values: string[];
}

/**
 * The attribute filters of a validated query string, in a fixed order (by name, values sorted and
 * de-duplicated), so one filter set has one cache key.
 */
export function attributeFiltersOf(query: Readonly<Record<string, unknown>>): AttributeFilter[] {
  const filters: AttributeFilter[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (!key.startsWith(ATTRIBUTE_PARAMETER_PREFIX)) continue;
    const values = [...new Set((Array.isArray(value) ? value : [value]).map(String))].sort();
    filters.push({ name: key.slice(ATTRIBUTE_PARAMETER_PREFIX.length), values });
  }
  if (filters.length > MAX_ATTRIBUTE_FILTERS) {
    throw new CatalogError('invalid-parameter', `at most ${MAX_ATTRIBUTE_FILTERS} attribute filters (attr.<name>) may be combined`);
  }
  return filters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The attribute filters as one cache-key segment (names and values URI-encoded, so no separator is ambiguous). */
export function attributeFiltersKey(filters: readonly AttributeFilter[]): string {
  return filters.map((filter) => `${encodeURIComponent(filter.name)}=${filter.values.map(encodeURIComponent).join('|')}`).join('&');
}

// ---- facets -----------------------------------------------------------------------------------------

export const FACETS = ['category', 'brand', 'price', 'attributes'] as const;
export type FacetName = (typeof FACETS)[number];

/** Price facet buckets, in minor units: [from, to), the last one open. */
export const PRICE_BUCKETS: readonly (readonly [number, number | null])[] = [
  [0, 50_000],
  [50_000, 100_000],
  [100_000, 200_000],
  [200_000, 500_000],
  [500_000, 1_000_000],
  [1_000_000, 2_500_000],
  [2_500_000, null],
];
/** At most this many brands and values per attribute; at most MAX_ATTRIBUTE_FACETS attributes. */
export const MAX_FACET_VALUES = 20;
export const MAX_ATTRIBUTE_FACETS = 10;
/** An attribute is a facet only when at least this many matching products carry it. */
export const MIN_ATTRIBUTE_FACET_PRODUCTS = 2;

const Count = Type.Integer({ minimum: 0 });

export const Facets = Type.Object(
  {
    category: Type.Optional(
      Type.Array(Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String(), count: Count }), {
        description: 'The children of the category filtered on (the root categories without one), each counting its descendants',
      }),
    ),
    brand: Type.Optional(Type.Array(Type.Object({ slug: Type.String(), name: Type.String(), count: Count }), { description: 'Most frequent brands first' })),
    price: Type.Optional(
      Type.Array(Type.Object({ from: Type.Integer({ minimum: 0 }), to: Type.Union([Type.Integer(), Type.Null()]), count: Count }), {
        description: 'Lowest price in [from, to), minor units; to null is open-ended. Every bucket is listed, empty ones too',
      }),
    ),
    attributes: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), values: Type.Array(Type.Object({ value: Type.String(), count: Count })) }), {
        description: 'Specifications that the matching products share, most widely carried first',
      }),
    ),
  },
  { description: "Counts for narrowing the result. Each facet's counts apply every active filter except its own (selecting a brand leaves the other brands' counts as they were)" },
);
export type Facets = Static<typeof Facets>;

/** Facet value counts for the facets asked for, from `facets=category,brand,...` (validated). */
export function facetNamesOf(parameter: string | undefined, defaults: readonly FacetName[]): FacetName[] {
  if (parameter === undefined) return [...defaults];
  if (parameter === '' || parameter === 'none') return [];
  const names = [...new Set(parameter.split(','))];
  const unknown = names.filter((name) => !(FACETS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new CatalogError('invalid-parameter', `unknown facet "${unknown[0]}"; facets are ${FACETS.join(', ')}`);
  return FACETS.filter((name) => names.includes(name));
}

export const Total = Type.Object(
  {
    value: Type.Integer({ minimum: 0 }),
    estimate: Type.Boolean({ description: 'True when value is an estimate (or a lower bound) rather than an exact count' }),
  },
  { description: 'How many products match' },
);
export type Total = Static<typeof Total>;

// ---- /products/search -----------------------------------------------------------------------------

export const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 4 * MAX_QUERY_LENGTH, description: `What the shopper typed: any Unicode text, up to ${MAX_QUERY_LENGTH} characters` }),
    ...ListingFilterParameters,
    sort: Type.Enum([...SEARCH_SORTS], { default: 'relevance', description: 'Order of the results' }),
    limit: Type.Integer({ minimum: 1, maximum: MAX_LISTING_LIMIT, default: DEFAULT_LISTING_LIMIT }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,4096}$', description: 'nextCursor of the previous page' })),
    facets: Type.Optional(Type.String({ maxLength: 200, description: `Comma-separated facets to count (${FACETS.join(', ')}); all by default, "none" for none` })),
  },
  attributeParameters,
);
export type SearchQuery = Static<typeof SearchQuery>;

export const SearchHit = Type.Object({
  ...ProductSummary.properties,
  highlight: Type.Object(
    { name: Type.Optional(Type.String()), description: Type.Optional(Type.String()) },
    { description: 'The matched words wrapped in <em></em>, the rest HTML-escaped; a description highlight is a fragment around the match' },
  ),
});
export type SearchHit = Static<typeof SearchHit>;

export const SearchResult = Type.Object({
  // First, so the route can tell a degraded answer from its first bytes (routes/search.ts).
  degraded: Type.Boolean({ description: 'True when the primary engine failed and the PostgreSQL engine answered' }),
  engine: Type.Enum(['opensearch', 'postgres'], { description: 'The engine that answered' }),
  query: Type.String({ description: 'The query as searched, after normalisation' }),
  items: Type.Array(SearchHit),
  total: Total,
  facets: Facets,
  didYouMean: Type.Union([Type.String(), Type.Null()], { description: 'A spelling the catalogue knows, when the query looks misspelt' }),
  relaxed: Type.Union([
    Type.Object({ query: Type.String(), dropped: Type.Array(Type.String()) }, { description: 'Nothing matched every word: the results match this shorter query' }),
    Type.Null(),
  ]),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});
export type SearchResult = Static<typeof SearchResult>;

// ---- /products/suggest ----------------------------------------------------------------------------

/**
 * The order both engines answer suggestions in: brands and categories first, each at most a quarter
 * of the list (so products still show), then products; what one kind leaves unused goes to the others.
 */
export function mixSuggestions<T>(brands: readonly T[], categories: readonly T[], products: readonly T[], limit: number): T[] {
  const share = Math.max(1, Math.floor(limit / 4));
  return [...brands.slice(0, share), ...categories.slice(0, share), ...products, ...brands.slice(share), ...categories.slice(share)].slice(0, limit);
}

export const SuggestQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 4 * MAX_QUERY_LENGTH, description: 'What the shopper has typed so far' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_SUGGESTIONS, default: DEFAULT_SUGGESTIONS }),
});
export type SuggestQuery = Static<typeof SuggestQuery>;

export const Suggestion = Type.Object({
  kind: Type.Enum(['product', 'brand', 'category']),
  text: Type.String({ description: 'What to show and, when chosen, what to search for' }),
  slug: Type.String({ description: "The product's, brand's or category's slug" }),
  highlight: Type.String({ description: 'text with the typed prefix wrapped in <em></em>, HTML-escaped' }),
});
export type Suggestion = Static<typeof Suggestion>;

export const SuggestResult = Type.Object({
  degraded: Type.Boolean(),
  engine: Type.Enum(['opensearch', 'postgres']),
  query: Type.String(),
  suggestions: Type.Array(Suggestion),
});
export type SuggestResult = Static<typeof SuggestResult>;

// ---- the request an engine is handed --------------------------------------------------------------

export interface SearchFilters extends ResolvedListingFilters {
  attributes: AttributeFilter[];
}

/** Where the previous page ended. `after` is engine-specific (sort values); another engine uses `offset`. */
export interface SearchCursor {
  engine: string;
  offset: number;
  after: (string | number)[] | null;
}

export interface SearchRequest {
  /** Normalised (normaliseQuery), 1..MAX_QUERY_LENGTH characters. */
  q: string;
  filters: SearchFilters;
  sort: SearchSort;
  limit: number;
  cursor: SearchCursor | undefined;
  facets: FacetName[];
}

/** What an engine answers; the route adds degraded and engine. */
export type EngineSearchResult = Omit<SearchResult, 'degraded' | 'engine' | 'nextCursor' | 'query'> & {
  /** The position after the last item, when there may be more. */
  next: Omit<SearchCursor, 'engine'> | null;
};

// ---- normalisation and cursors ----------------------------------------------------------------------

// Control characters (C0, DEL, C1) are refused: nothing a shopper types produces them. Everything
// else, any script, emoji and combining marks included, is a valid query.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** NFKC, whitespace collapsed and trimmed; refuses control characters, empty and over-long queries. */
export function normaliseQuery(raw: string, name = 'q'): string {
  if (CONTROL.test(raw)) throw new CatalogError('invalid-parameter', `${name} must not contain control characters`);
  const q = raw.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  if (q.length === 0) throw new CatalogError('invalid-parameter', `${name} must contain something to search for`);
  if ([...q].length > MAX_QUERY_LENGTH) throw new CatalogError('invalid-parameter', `${name} must be at most ${MAX_QUERY_LENGTH} characters`);
  return q;
}

export function encodeSearchCursor(sort: SearchSort, cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify([sort, cursor.engine, cursor.offset, cursor.after])).toString('base64url');
}

export function decodeSearchCursor(encoded: string, sort: SearchSort): SearchCursor {
  const invalid = () => new CatalogError('invalid-cursor', 'cursor is not one this service issued');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 4) throw invalid();
  const [cursorSort, engine, offset, after] = decoded as unknown[];
  if (typeof engine !== 'string' || engine.length > 20 || !Number.isSafeInteger(offset) || (offset as number) < 1 || (offset as number) > 1_000_000) throw invalid();
  const validAfter = after === null || (Array.isArray(after) && after.length <= 4 && after.every((value) => (typeof value === 'string' && value.length <= 200) || Number.isFinite(value)));
  if (!validAfter) throw invalid();
  if (cursorSort !== sort) throw new CatalogError('invalid-cursor', `cursor belongs to sort "${String(cursorSort)}", not "${sort}"`);
  return { engine, offset: offset as number, after: after as SearchCursor['after'] };
}

// Browsing: which products a listing page shows, in which order, and where the next page starts.
// Pages are keyset cursors (the last row's sort key and id), so page 500 costs what page 1 costs
// and rows added or removed between requests never make a page skip or repeat an item.
import Type, { type Static } from 'typebox';
import { CatalogError } from './catalog-error.ts';
import { entityRefPattern } from './entity-ref.ts';
// Types only: search.ts imports this module's schemas, so a value imported back would be a cycle.
import type { AttributeFilter, Facets, Total } from './search.ts';

export const LISTING_SORTS = ['price_asc', 'price_desc', 'newest', 'name', 'rating'] as const;
export type ListingSort = (typeof LISTING_SORTS)[number];
export const DEFAULT_LISTING_LIMIT = 24;
export const MAX_LISTING_LIMIT = 100;

// The shapes a listing is asked with and answers with. Each TypeBox schema validates the query,
// serializes the response and documents both in openapi.yaml; the domain type is derived from it.

export const Money = Type.Integer({ minimum: 0, description: 'Amount in minor units of the currency (paise, cents)' });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' });
export const PriceRange = (options?: { description: string }) => Type.Object({ min: Money, max: Money, currency: Currency }, options);

export const BrandRef = Type.Union([Type.Object({ slug: Type.String(), name: Type.String() }), Type.Null()]);
export const Rating = Type.Union([Type.Number({ minimum: 0, maximum: 5 }), Type.Null()]);

/** A product as a listing (or a related list) shows it. */
export const ProductSummary = Type.Object({
  id: Type.Integer(),
  slug: Type.String(),
  name: Type.String(),
  brand: BrandRef,
  image: Type.Union([Type.String(), Type.Null()]),
  price: PriceRange({ description: 'Lowest and highest variant price' }),
  inStock: Type.Boolean(),
  rating: Rating,
});
export type ProductSummary = Static<typeof ProductSummary>;

/** The filters a listing and a search share (with the attribute filters, attributeParameters in search.ts). */
export const ListingFilterParameters = {
  category: Type.Optional(Type.String({ pattern: entityRefPattern(9), description: 'Category id or slug; includes its descendants' })),
  brand: Type.Optional(Type.String({ pattern: entityRefPattern(9), description: 'Brand id or slug' })),
  minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e15, description: 'Lowest price at least this, in minor units' })),
  maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e15, description: 'Lowest price at most this, in minor units' })),
  inStock: Type.Optional(Type.Boolean({ description: 'Only products with (true) or without (false) stock' })),
};

export const ListingQuery = Type.Object({
  ...ListingFilterParameters,
  sort: Type.Enum([...LISTING_SORTS], { default: 'newest', description: 'Order of the listing' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LISTING_LIMIT, default: DEFAULT_LISTING_LIMIT }),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,4096}$', description: 'nextCursor of the previous page' })),
  facets: Type.Optional(Type.String({ maxLength: 200, description: 'Comma-separated facets to count: brand, price, attributes; none by default' })),
});
export type ListingQuery = Static<typeof ListingQuery>;
/** The filters of a listing or a search, as asked (ListingFilterParameters). */
export type ListingFilterQuery = Pick<ListingQuery, 'category' | 'brand' | 'minPrice' | 'maxPrice' | 'inStock'>;

export const ListingPage = Type.Object({
  items: Type.Array(ProductSummary),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});
/** The page with its total and the facets asked for (its schema, with them, is ListedPage in listing-facets.ts). */
export type ListingPage = Static<typeof ListingPage> & { total: Total; facets?: Facets };

/** A listing as the route hands it over: the query string and its attribute filters (attributeFiltersOf). */
export type ListingRequest = ListingQuery & { attributes?: readonly AttributeFilter[] };

/** How many products carry each value of each attribute, before the facets are chosen from them. */
export interface AttributeValueCount {
  name: string;
  value: string;
  count: number;
}

/** Where the previous page ended: the sort key as PostgreSQL printed it (exact, even for timestamps) and the id. */
export interface ListingPosition {
  sortKey: string;
  id: number;
}

export interface ResolvedListingFilters {
  categoryPath?: string | undefined;
  brandId?: number | undefined;
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  inStock?: boolean | undefined;
  /** Values of one attribute OR-ed, attributes AND-ed; absent or empty: no attribute filter. */
  attributes?: readonly AttributeFilter[] | undefined;
}

export interface ListingSource {
  /** The category and brand named to what the queries filter on; the price and stock filters as they are. */
  resolveFilters(query: ListingFilterQuery): Promise<ResolvedListingFilters>;
  /** Up to `limit` summaries after `after`, each with the sort key that a cursor needs. */
  listProducts(
    filters: ResolvedListingFilters,
    sort: ListingSort,
    after: ListingPosition | undefined,
    limit: number,
  ): Promise<(ProductSummary & { sortKey: string })[]>;
  /** How many listed products match, estimated without counting them (never a count(*) of the catalogue). */
  estimateListed(filters: ResolvedListingFilters): Promise<number>;
  /**
   * Value counts of the attributes of the matching products; the counts of a filtered attribute
   * apply every filter but its own.
   */
  countAttributeValues(filters: ResolvedListingFilters): Promise<AttributeValueCount[]>;
  /** The most frequent brands of the matching products (at most MAX_FACET_VALUES), under every filter but the brand's. */
  countBrands(filters: ResolvedListingFilters): Promise<{ slug: string; name: string; count: number }[]>;
  /** The matching products in each of search.ts's PRICE_BUCKETS, under every filter but the price range's. */
  countPriceBuckets(filters: ResolvedListingFilters): Promise<number[]>;
}

/** The checks that need no data, so a bad request is refused before any cache or database work. */
export function checkListingQuery(query: ListingQuery): ListingPosition | undefined {
  if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
    throw new CatalogError('invalid-parameter', 'minPrice must not be greater than maxPrice');
  }
  return query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.sort);
}

/**
 * The listing page. `facets`, when given, counts the facets of the same filters (listing-facets.ts:
 * it needs search.ts's limits, which this module cannot import without a cycle).
 */
export async function listProducts(
  source: ListingSource,
  query: ListingRequest,
  facets?: (filters: ResolvedListingFilters) => Promise<Facets>,
): Promise<ListingPage> {
  const after = checkListingQuery(query);
  const filters = { ...(await source.resolveFilters(query)), attributes: query.attributes ?? [] };
  // One row more than the page tells whether another page exists, without counting. The estimate
  // and the facets are read beside it, each on its own connection, so a fill waits for the slowest.
  const [rows, estimate, counted] = await Promise.all([
    source.listProducts(filters, query.sort, after, query.limit + 1),
    source.estimateListed(filters),
    facets?.(filters),
  ]);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const listing: ListingPage = {
    items: page.map(({ sortKey: _sortKey, ...summary }) => summary),
    nextCursor: rows.length > query.limit && last ? encodeCursor(query.sort, { sortKey: last.sortKey, id: last.id }) : null,
    total: listingTotal(estimate, rows.length, query.limit, after === undefined),
  };
  if (counted) listing.facets = counted;
  return listing;
}

/**
 * A first page without a next page has counted its products; any other page proves only that at
 * least as many match as it read (the extra row included), which bounds the estimate from below.
 */
export function listingTotal(estimate: number, rowsRead: number, limit: number, firstPage: boolean): Total {
  if (firstPage && rowsRead <= limit) return { value: rowsRead, estimate: false };
  return { value: Math.max(Math.round(estimate), rowsRead), estimate: true };
}

export function encodeCursor(sort: ListingSort, position: ListingPosition): string {
  return Buffer.from(JSON.stringify([sort, position.sortKey, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string, sort: ListingSort): ListingPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
  const [cursorSort, sortKey, id] = decoded as unknown[];
  if (typeof sortKey !== 'string' || sortKey.length > 2000 || !Number.isSafeInteger(id) || (id as number) < 1) {
    throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
  }
  if (cursorSort !== sort) throw new CatalogError('invalid-cursor', `cursor belongs to sort "${String(cursorSort)}", not "${sort}"`);
  if (!isValidSortKey(sort, sortKey)) throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
  return { sortKey, id: id as number };
}

// A forged key must give a 400 here, not a cast error in PostgreSQL.
function isValidSortKey(sort: ListingSort, key: string): boolean {
  switch (sort) {
    case 'price_asc':
    case 'price_desc':
      return /^\d{1,18}$/.test(key);
    case 'rating':
      return /^\d(\.\d)?$/.test(key);
    case 'newest':
      return isTimestamp(key);
    case 'name':
      // PostgreSQL text cannot hold NUL.
      return key.length > 0 && !key.includes('\u0000');
  }
}

type TimestampFields = [year: number, month: number, day: number, hour: number, minute: number, second: number, offsetHours: number, offsetMinutes: number];
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;

/** A timestamptz as PostgreSQL prints it, naming a real date and time ("2020-02-30 ..." is refused). */
function isTimestamp(key: string): boolean {
  const fields = TIMESTAMP.exec(key);
  if (!fields) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = fields.slice(1).map((field) => Number(field ?? 0)) as TimestampFields;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const realDay = year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return realDay && hour < 24 && minute < 60 && second < 60 && offsetHours <= 15 && offsetMinutes < 60;
}

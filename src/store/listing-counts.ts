// What a listing counts beside its page: its estimated total (GET /products' `total`) and the value
// counts of its attribute facets. Both read the same filter conditions as the page itself.
import { LRUCache } from 'lru-cache';
import type { AttributeValueCount, ListingSource, ResolvedListingFilters } from '../catalog/listing.ts';
import { MAX_ATTRIBUTE_NAME_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_FACET_VALUES, PRICE_BUCKETS, type AttributeFilter } from '../catalog/search.ts';
import type { Queryable } from './postgres-guard.ts';

/** Only these products are visible to shoppers; the partial listing indexes carry the same predicate. */
export const LISTED = `p.status = 'active' AND p.price_min IS NOT NULL`;

/**
 * How long a listing's estimated total is reused. Every sort and page of one filter set shares it,
 * and listings are refilled often (a price change drops its categories' pages), while the planner's
 * statistics it comes from change only with ANALYZE.
 */
export const LISTING_ESTIMATE_TTL_MS = 60_000;

/** Listings with attribute filters are counted up to this many products, estimated beyond (listingEstimator). */
export const ATTRIBUTE_COUNT_BOUND = 1_000;

/**
 * The planner's row estimate for a listing's filters (its statistics, never a count of the
 * catalogue), kept a while per filter set. The planner multiplies selectivities as if filters were
 * independent, and attributes are not: only some products carry them, concentrated in a few
 * categories, so "footwear and Ideal For=Women" was estimated at 10 for 150 (bench:listing-totals).
 * A listing with attribute filters is therefore counted instead, through the attribute index and
 * only up to ATTRIBUTE_COUNT_BOUND rows; beyond, the planner's estimate, raised to the bound.
 */
export function listingEstimator(pool: Queryable): ListingSource['estimateListed'] {
  const estimates = new LRUCache<string, number>({ max: 10_000, ttl: LISTING_ESTIMATE_TTL_MS });
  const planned = async (filters: ResolvedListingFilters): Promise<number> => {
    const params: unknown[] = [];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM products p WHERE ${listingConditions(filters, param).join(' AND ')}`,
      params,
    );
    return rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0;
  };
  const counted = async (filters: ResolvedListingFilters): Promise<number> => {
    const params: unknown[] = [];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const { rows } = await pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM (SELECT 1 FROM products p WHERE ${listingConditions(filters, param).join(' AND ')} LIMIT ${ATTRIBUTE_COUNT_BOUND + 1}) bounded`,
      params,
    );
    return rows[0]?.count ?? 0;
  };
  return async (filters) => {
    const key = JSON.stringify([filters.categoryPath, filters.brandId, filters.minPrice, filters.maxPrice, filters.inStock, filters.attributes ?? []]);
    const known = estimates.get(key);
    if (known !== undefined) return known;
    const bounded = (filters.attributes ?? []).length > 0 ? await counted(filters) : undefined;
    const estimate = bounded !== undefined && bounded <= ATTRIBUTE_COUNT_BOUND ? bounded : Math.max(await planned(filters), bounded ?? 0);
    estimates.set(key, estimate);
    return estimate;
  };
}

/**
 * How many matching products carry each attribute value. The counts of an attribute filtered on apply
 * the other attribute filters but not its own; every other attribute's counts apply them all.
 */
export async function countAttributeValues(pool: Queryable, filters: ResolvedListingFilters): Promise<AttributeValueCount[]> {
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  const attributes = filters.attributes ?? [];
  const base = listingConditions({ ...filters, attributes: [] }, param);
  const scopes = [
    `(e.key <> ALL(${param(attributes.map((filter) => filter.name))}::text[])${attributeConditions(attributes, param).map((condition) => ` AND ${condition}`).join('')})`,
    ...attributes.map(
      (own) => `(e.key = ${param(own.name)}${attributeConditions(attributes.filter((filter) => filter !== own), param).map((condition) => ` AND ${condition}`).join('')})`,
    ),
  ];
  // Values that could not be filtered on (too long) are no facet.
  const { rows } = await pool.query<AttributeValueCount>(
    `SELECT e.key AS name, e.value, count(*)::int AS count
       FROM products p CROSS JOIN LATERAL jsonb_each_text(p.attributes) e
      WHERE ${base.join(' AND ')} AND p.attributes <> '{}'
        AND length(e.key) <= ${MAX_ATTRIBUTE_NAME_LENGTH} AND length(e.value) BETWEEN 1 AND ${MAX_ATTRIBUTE_VALUE_LENGTH}
        AND (${scopes.join(' OR ')})
      GROUP BY e.key, e.value`,
    params,
  );
  return rows;
}

/** The most frequent brands of the matching products, under every filter but the brand's. */
export async function countBrands(pool: Queryable, filters: ResolvedListingFilters): Promise<{ slug: string; name: string; count: number }[]> {
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  const { rows } = await pool.query<{ slug: string; name: string; count: number }>(
    `SELECT b.slug, b.name, n.count
       FROM (SELECT p.brand_id, count(*)::int AS count FROM products p
              WHERE ${listingConditions({ ...filters, brandId: undefined }, param).join(' AND ')} AND p.brand_id IS NOT NULL
              GROUP BY p.brand_id ORDER BY count(*) DESC, p.brand_id LIMIT ${MAX_FACET_VALUES}) n
       JOIN brands b ON b.id = n.brand_id
      ORDER BY n.count DESC, b.name`,
    params,
  );
  return rows;
}

/** How many matching products fall in each price bucket (PRICE_BUCKETS), under every filter but the price range's. */
export async function countPriceBuckets(pool: Queryable, filters: ResolvedListingFilters): Promise<number[]> {
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  const buckets = PRICE_BUCKETS.map(([from, to]) => `count(*) FILTER (WHERE p.price_min >= ${from}${to === null ? '' : ` AND p.price_min < ${to}`})::int`);
  const { rows } = await pool.query<{ counts: number[] }>(
    `SELECT ARRAY[${buckets.join(', ')}] AS counts FROM products p
      WHERE ${listingConditions({ ...filters, minPrice: undefined, maxPrice: undefined }, param).join(' AND ')}`,
    params,
  );
  return rows[0]?.counts ?? PRICE_BUCKETS.map(() => 0);
}

/** The facet counts of a listing, as the repository offers them. */
export function listingFacetCounts(pool: Queryable): Pick<ListingSource, 'countAttributeValues' | 'countBrands' | 'countPriceBuckets'> {
  return {
    countAttributeValues: (filters) => countAttributeValues(pool, filters),
    countBrands: (filters) => countBrands(pool, filters),
    countPriceBuckets: (filters) => countPriceBuckets(pool, filters),
  };
}

/** The WHERE conditions of a listing's filters, the cursor aside. */
export function listingConditions(filters: ResolvedListingFilters, param: (value: unknown) => string): string[] {
  const where = [LISTED];
  if (filters.categoryPath !== undefined) where.push(`p.category_path <@ ${param(filters.categoryPath)}::ltree`);
  if (filters.brandId !== undefined) where.push(`p.brand_id = ${param(filters.brandId)}`);
  if (filters.minPrice !== undefined) where.push(`p.price_min >= ${param(filters.minPrice)}`);
  if (filters.maxPrice !== undefined) where.push(`p.price_min <= ${param(filters.maxPrice)}`);
  if (filters.inStock !== undefined) where.push(filters.inStock ? 'p.in_stock' : 'NOT p.in_stock');
  where.push(...attributeConditions(filters.attributes ?? [], param));
  return where;
}

/**
 * One condition per attribute: the product's attributes contain one of the values. `@> ANY` of
 * one-pair objects is answered by the GIN index products_listed_attributes (jsonb_path_ops), and
 * keeps one statement text per number of attributes, whatever the values.
 */
function attributeConditions(filters: readonly AttributeFilter[], param: (value: unknown) => string): string[] {
  return filters.map((filter) => `p.attributes @> ANY(${param(filter.values.map((value) => JSON.stringify({ [filter.name]: value })))}::jsonb[])`);
}

// Reads for the storefront: listing pages, product pages, related products and the category tree.
// Runs on the read pool (the replica when there is one).
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { Queryable } from './postgres-guard.ts';
import { CatalogError } from '../catalog/catalog-error.ts';
import type { CategoryRow } from '../catalog/category-tree.ts';
import type { ListingFilterQuery, ListingPosition, ListingSort, ListingSource, ProductSummary, ResolvedListingFilters } from '../catalog/listing.ts';
import { LISTED, listingFacetCounts, listingConditions, listingEstimator } from './listing-counts.ts';
import type { ProductPage, ProductPageSource, ProductRef, RelatedList, RelatedScope } from '../catalog/product-page.ts';

// Kept importable from here, where the read queries are.
export { LISTED } from './listing-counts.ts';

// Each sort: the key expression (as indexed), its direction, and the key's SQL type for the cursor.
// The id tie-breaker runs in the same direction, so `(key, id) > (k, i)` walks one btree index.
const SORTS: Record<ListingSort, { key: string; descending: boolean; type: string }> = {
  price_asc: { key: 'p.price_min', descending: false, type: 'bigint' },
  price_desc: { key: 'p.price_min', descending: true, type: 'bigint' },
  newest: { key: 'p.created_at', descending: true, type: 'timestamptz' },
  name: { key: 'p.name', descending: false, type: 'text' },
  rating: { key: 'coalesce(p.rating, 0)', descending: true, type: 'numeric' },
};

const SUMMARY_COLUMNS = `p.id, p.slug, p.name, b.slug AS brand_slug, b.name AS brand_name, p.images->>0 AS image,
  p.price_min, p.price_max, p.currency, p.in_stock, p.rating`;

interface SummaryRow {
  id: number;
  slug: string;
  name: string;
  brand_slug: string | null;
  brand_name: string | null;
  image: string | null;
  price_min: number;
  price_max: number;
  currency: string;
  in_stock: boolean;
  rating: number | null;
}

export interface ProductRepository extends ListingSource, ProductPageSource {
  listCategories(): Promise<CategoryRow[]>;
}

/**
 * How long a listing's category and brand references stay resolved in process. The pages of one
 * category (its sorts, price bands and next pages) share a reference, and every listing refresh
 * resolved it again: one PostgreSQL round trip of two per refresh, and a round trip costs the API
 * more than the query does (docs/caching.md). A category moved or renamed reaches listings at most
 * this much later; an unknown reference is never kept.
 */
export const LISTING_REFERENCE_TTL_MS = 10_000;

type ListingReferences = Pick<ResolvedListingFilters, 'categoryPath' | 'brandId'>;

export function createProductRepository({ pool }: { pool: Queryable }): ProductRepository {
  const references = new LRUCache<string, ListingReferences>({ max: 10_000, ttl: LISTING_REFERENCE_TTL_MS });
  // Product pages asked for in the same event-loop turn (refreshes of stale pages advance together)
  // are read with one query, by id or by slug.
  const pageLoader = <K extends number | string>(column: 'id' | 'slug', type: 'bigint' | 'text') =>
    new DataLoader<K, ProductPage | undefined>(
      async (refs) => {
        const { rows } = await pool.query<ProductPageRow>(`${PRODUCT_PAGE_SELECT} WHERE p.${column} = ANY($1::${type}[]) AND p.status = 'active'`, [refs]);
        const pages = new Map<number | string, ProductPage>(rows.map((row) => [row[column], toProductPage(row)]));
        return refs.map((ref) => pages.get(ref));
      },
      { cache: false, maxBatchSize: 100, batchScheduleFn: (load) => setImmediate(load) },
    );
  const pagesById = pageLoader<number>('id', 'bigint');
  const pagesBySlug = pageLoader<string>('slug', 'text');
  const findRelatedScope = async (ref: ProductRef): Promise<RelatedScope | undefined> => {
    const { rows } = await pool.query<RelatedScopeRow>(
      `SELECT ${SCOPE_CATEGORY} AS scope_category, p.brand_id AS scope_brand FROM products p WHERE ${productCondition(ref)} AND p.status = 'active'`,
      ['id' in ref ? ref.id : ref.slug],
    );
    return rows[0] && toScope(rows[0]);
  };
  return {
    async resolveFilters(query: ListingFilterQuery): Promise<ResolvedListingFilters> {
      const filters: ResolvedListingFilters = { minPrice: query.minPrice, maxPrice: query.maxPrice, inStock: query.inStock };
      if (query.category === undefined && query.brand === undefined) return filters;
      // Both are slugs or digits (validated), so a space cannot occur in either.
      const referenceKey = `${query.category ?? ''} ${query.brand ?? ''}`;
      const known = references.get(referenceKey);
      if (known) return { ...filters, ...known };
      const { rows } = await pool.query<{ category_path: string | null; brand_id: number | null }>(
        `SELECT (SELECT path::text FROM categories WHERE ${refCondition(1)}) AS category_path,
                (SELECT id FROM brands WHERE ${refCondition(2)}) AS brand_id`,
        [query.category ?? null, query.brand ?? null],
      );
      const row = rows[0];
      if (query.category !== undefined) {
        if (!row?.category_path) throw new CatalogError('category-not-found', `no category ${query.category}`);
        filters.categoryPath = row.category_path;
      }
      if (query.brand !== undefined) {
        if (row?.brand_id == null) throw new CatalogError('brand-not-found', `no brand ${query.brand}`);
        filters.brandId = row.brand_id;
      }
      references.set(referenceKey, { categoryPath: filters.categoryPath, brandId: filters.brandId });
      return filters;
    },

    async listProducts(filters, sort, after, limit) {
      const { key, descending, type } = SORTS[sort];
      const params: unknown[] = [];
      const param = (value: unknown): string => `$${params.push(value)}`;
      const where = listingConditions(filters, param);
      if (after) where.push(positionCondition(key, descending, type, after, param));
      const direction = descending ? 'DESC' : 'ASC';
      // With attribute filters, the matches are found through the attribute index and then sorted
      // (OFFSET 0 keeps the planner from flattening the subquery): walking a sort index instead, as
      // the planner chose for attr.Pattern=Solid by newest, read most of the catalogue to find 25
      // products that all sit at its far end (24 to 64 ms against 6 to 13 ms, on a loaded host; docs/listing-queries.md).
      const conditions = where.join(' AND ');
      const matching = (filters.attributes ?? []).length > 0 ? `(SELECT * FROM products p WHERE ${conditions} OFFSET 0) p` : `products p`;
      const { rows } = await pool.query<SummaryRow & { sort_key: string }>(
        `SELECT ${SUMMARY_COLUMNS}, (${key})::text AS sort_key
           FROM ${matching} LEFT JOIN brands b ON b.id = p.brand_id
          ${matching === 'products p' ? `WHERE ${conditions}` : ''}
          ORDER BY ${key} ${direction}, p.id ${direction}
          LIMIT ${param(limit)}`,
        params,
      );
      return rows.map((row) => ({ ...toSummary(row), sortKey: row.sort_key }));
    },

    estimateListed: listingEstimator(pool),

    ...listingFacetCounts(pool),

    findProductPage(ref: ProductRef): Promise<ProductPage | undefined> {
      return 'id' in ref ? pagesById.load(ref.id) : pagesBySlug.load(ref.slug);
    },

    async findRelated(ref: ProductRef, limit: number): Promise<RelatedList | undefined> {
      // Candidates share the brand or the parent category; those sharing both come first, then
      // the same category, then the same brand, each nearest in price. Each row also carries the
      // scope the list was drawn from, read in the same statement as the list itself.
      const { rows } = await pool.query<SummaryRow & RelatedScopeRow>(
        `WITH this AS (
           SELECT id, brand_id, category_id, category_path, price_min,
                  CASE WHEN nlevel(category_path) > 1 THEN subpath(category_path, 0, nlevel(category_path) - 1) ELSE category_path END AS parent_path,
                  ${SCOPE_CATEGORY} AS scope_category
             FROM products p WHERE ${productCondition(ref)} AND p.status = 'active')
         SELECT this.scope_category, this.brand_id AS scope_brand, ${SUMMARY_COLUMNS}
           FROM this, products p LEFT JOIN brands b ON b.id = p.brand_id
          WHERE ${LISTED} AND p.id <> this.id
            AND (p.category_path <@ this.parent_path OR p.brand_id = this.brand_id)
          ORDER BY (p.category_id = this.category_id AND p.brand_id IS NOT DISTINCT FROM this.brand_id) DESC,
                   (p.category_id = this.category_id) DESC,
                   (p.brand_id IS NOT DISTINCT FROM this.brand_id) DESC,
                   abs(p.price_min - coalesce(this.price_min, p.price_min)), p.id
          LIMIT $2`,
        ['id' in ref ? ref.id : ref.slug, limit],
      );
      const first = rows[0];
      if (first) return { scope: toScope(first), items: rows.map(toSummary) };
      const scope = await findRelatedScope(ref);
      return scope && { scope, items: [] };
    },

    findRelatedScope,

    async listCategories(): Promise<CategoryRow[]> {
      const { rows } = await pool.query<{ id: number; parent_id: number | null; slug: string; name: string; own_products: number }>(
        `SELECT c.id, c.parent_id, c.slug, c.name, coalesce(n.count, 0)::int AS own_products
           FROM categories c
           LEFT JOIN (SELECT category_id, count(*) FROM products p WHERE ${LISTED} GROUP BY category_id) n ON n.category_id = c.id`,
      );
      return rows.map((row) => ({ id: row.id, parentId: row.parent_id, slug: row.slug, name: row.name, ownProducts: row.own_products }));
    },
  };
}

// The category a product's related list draws from (RelatedScope): its category's parent, or its
// own category at the root. Category paths are ltrees of category ids.
const SCOPE_CATEGORY = `ltree2text(subpath(p.category_path, greatest(nlevel(p.category_path) - 2, 0), 1))::int`;

interface RelatedScopeRow {
  scope_category: number;
  scope_brand: number | null;
}

function toScope(row: RelatedScopeRow): RelatedScope {
  return { category: row.scope_category, brand: row.scope_brand };
}

const PRODUCT_PAGE_SELECT = `SELECT p.id, p.slug, p.name, p.description, b.slug AS brand_slug, b.name AS brand_name, p.attributes, p.images,
                p.rating, p.price_min, p.price_max, p.currency, p.in_stock, p.created_at, p.updated_at, p.version, p.category_id,
                (SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name) ORDER BY nlevel(c.path))
                   FROM categories c WHERE c.path @> p.category_path) AS category_path,
                (SELECT coalesce(json_agg(json_build_object('id', v.id, 'sku', v.sku, 'options', v.options, 'price', v.price_minor,
                          'compareAtPrice', v.compare_at_minor, 'currency', v.currency, 'stock', v.stock, 'inStock', v.stock > 0)
                          ORDER BY v.position, v.id), '[]')
                   FROM variants v WHERE v.product_id = p.id) AS variants
           FROM products p LEFT JOIN brands b ON b.id = p.brand_id`;

function toProductPage(row: ProductPageRow): ProductPage {
  const categoryPath = row.category_path;
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    brand: row.brand_slug && row.brand_name ? { slug: row.brand_slug, name: row.brand_name } : null,
    category: categoryPath.at(-1) as ProductPage['category'],
    categoryPath,
    attributes: row.attributes,
    images: row.images,
    rating: row.rating,
    price: row.price_min === null || row.price_max === null || row.currency === null ? null : { min: row.price_min, max: row.price_max, currency: row.currency },
    inStock: row.in_stock,
    variants: row.variants,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
  };
}

interface ProductPageRow {
  id: number;
  slug: string;
  name: string;
  description: string | null;
  brand_slug: string | null;
  brand_name: string | null;
  attributes: Record<string, string>;
  images: string[];
  rating: number | null;
  price_min: number | null;
  price_max: number | null;
  currency: string | null;
  in_stock: boolean;
  created_at: Date;
  updated_at: Date;
  version: number;
  category_path: ProductPage['categoryPath'];
  variants: ProductPage['variants'];
}

function toSummary(row: SummaryRow): ProductSummary {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    brand: row.brand_slug && row.brand_name ? { slug: row.brand_slug, name: row.brand_name } : null,
    image: row.image,
    price: { min: row.price_min, max: row.price_max, currency: row.currency },
    inStock: row.in_stock,
    rating: row.rating,
  };
}

/**
 * A category or brand is named by its id (digits) or its slug (never all digits: see
 * product-writer.ts), so exactly one row can match; a null parameter matches nothing.
 */
function refCondition(index: number): string {
  return `CASE WHEN $${index}::text ~ '^\\d{1,9}$' THEN id = $${index}::text::int ELSE slug = $${index}::text END`;
}

function productCondition(ref: ProductRef): string {
  return 'id' in ref ? 'p.id = $1::bigint' : 'p.slug = $1::text';
}

function positionCondition(key: string, descending: boolean, type: string, after: ListingPosition, param: (value: unknown) => string): string {
  return `(${key}, p.id) ${descending ? '<' : '>'} (${param(after.sortKey)}::${type}, ${param(after.id)}::bigint)`;
}

// What the indexer writes to the search engines: each product as it is NOW in PostgreSQL, with its
// current version. An event only says which product to look at; reading the current row means a late
// or replayed event indexes the newest product, never the one it described. Read from the primary:
// a lagging replica would hand back the product before the change the event announces.
import type { SearchDocument, SearchDocumentChange } from '../catalog/search-document.ts';
import type { Queryable } from './postgres-guard.ts';
import { LISTED } from './product-repository.ts';

/**
 * The version a product that no longer exists is removed at. Product ids are an identity column and
 * never reused, so nothing may ever bring such a document back: the tombstone outranks any version.
 */
export const GONE_VERSION = Number.MAX_SAFE_INTEGER;

interface DocumentRow {
  requested_id: number;
  id: number | null;
  version: number | null;
  listed: boolean | null;
  slug: string;
  name: string;
  description: string | null;
  brand: SearchDocument['brand'];
  categories: SearchDocument['categories'] | null;
  attributes: Record<string, string>;
  image: string | null;
  price_min: number;
  price_max: number;
  currency: string;
  in_stock: boolean;
  rating: number | string | null;
  created_at: Date;
}

/**
 * One change per product id asked for (in one query, whatever the batch size): its document, or
 * null when shoppers must not find it (archived, draft, unpriced: the listings' predicate) or it no
 * longer exists.
 */
export async function loadSearchDocumentChanges(pool: Queryable, productIds: readonly number[]): Promise<SearchDocumentChange[]> {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) return [];
  const { rows } = await pool.query<DocumentRow>(
    `SELECT ids.id AS requested_id, p.id, p.version, (${LISTED}) AS listed, p.slug, p.name, p.description,
            p.attributes, p.images->>0 AS image, p.price_min, p.price_max, p.currency, p.in_stock, p.rating, p.created_at,
            CASE WHEN b.id IS NULL THEN NULL ELSE json_build_object('id', b.id, 'slug', b.slug, 'name', b.name) END AS brand,
            (SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name) ORDER BY nlevel(c.path))
               FROM categories c WHERE c.path @> p.category_path) AS categories
       FROM unnest($1::bigint[]) AS ids(id)
       LEFT JOIN products p ON p.id = ids.id
       LEFT JOIN brands b ON b.id = p.brand_id`,
    [ids],
  );
  return rows.map(toChange);
}

function toChange(row: DocumentRow): SearchDocumentChange {
  const productId = Number(row.requested_id);
  if (row.id === null || row.version === null) return { productId, version: GONE_VERSION, document: null };
  const version = Number(row.version);
  if (!row.listed) return { productId, version, document: null };
  return {
    productId,
    version,
    document: {
      id: productId,
      version,
      slug: row.slug,
      name: row.name,
      description: row.description,
      brand: row.brand,
      categories: row.categories ?? [],
      attributes: row.attributes,
      image: row.image,
      priceMin: Number(row.price_min),
      priceMax: Number(row.price_max),
      currency: row.currency,
      inStock: row.in_stock,
      rating: row.rating === null ? null : Number(row.rating),
      createdAt: row.created_at.toISOString(),
    },
  };
}

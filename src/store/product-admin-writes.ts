// The statements of the admin API's writes, each run inside the caller's transaction after the
// products it touches are locked (product-admin-store.ts). Set-based: a bulk update of 1,000 SKUs is
// one UPDATE, and the variants trigger refreshes (and versions) each product once.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CatalogError, type FieldProblem } from '../catalog/catalog-error.ts';
import { isIdRef } from '../catalog/entity-ref.ts';
import { uniqueSlug } from '../catalog/slug.ts';
import { slugFromName, type AdminProduct, type ProductFields, type VariantInput, type VariantPrices } from '../catalog/product-admin.ts';

export type Client = Pick<pg.PoolClient, 'query'>;

/** The product as the admin API answers with it; undefined when there is none. */
export async function readAdminProduct(client: Client, id: number): Promise<AdminProduct | undefined> {
  const { rows } = await client.query<Omit<AdminProduct, 'externalId' | 'createdAt' | 'updatedAt'> & { external_id: string; created_at: Date; updated_at: Date }>(
    `SELECT p.id, p.external_id, p.slug, p.name, p.description, p.status, p.attributes, p.images, p.rating, p.version, p.created_at, p.updated_at,
            json_build_object('id', c.id, 'slug', c.slug, 'name', c.name) AS category,
            CASE WHEN b.id IS NULL THEN NULL ELSE json_build_object('id', b.id, 'slug', b.slug, 'name', b.name) END AS brand,
            coalesce((SELECT json_agg(json_build_object('id', v.id, 'sku', v.sku, 'options', v.options, 'price', v.price_minor,
                                                        'compareAtPrice', v.compare_at_minor, 'currency', v.currency, 'stock', v.stock)
                                      ORDER BY v.position, v.id)
                        FROM variants v WHERE v.product_id = p.id), '[]') AS variants
       FROM products p JOIN categories c ON c.id = p.category_id LEFT JOIN brands b ON b.id = p.brand_id
      WHERE p.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { external_id, created_at, updated_at, ...product } = row;
  return { ...product, externalId: external_id, createdAt: created_at.toISOString(), updatedAt: updated_at.toISOString() };
}

/** The category and brand ids a write names; an unknown one is a problem naming its field. */
export async function resolveReferences(client: Client, fields: Pick<ProductFields, 'category' | 'brand'>): Promise<{ categoryId?: number; brandId?: number | null }> {
  const split = (ref: string | number | null | undefined) =>
    ref === null || ref === undefined ? [null, null] : typeof ref === 'number' || isIdRef(ref) ? [Number(ref), null] : [null, ref];
  const [categoryId, categorySlug] = split(fields.category);
  const [brandId, brandSlug] = split(fields.brand);
  const { rows } = await client.query<{ category_id: number | null; brand_id: number | null }>(
    `SELECT (SELECT id FROM categories WHERE id = $1 OR slug = $2) AS category_id, (SELECT id FROM brands WHERE id = $3 OR slug = $4) AS brand_id`,
    [categoryId, categorySlug, brandId, brandSlug],
  );
  const found = rows[0] ?? { category_id: null, brand_id: null };
  const problems: FieldProblem[] = [];
  if (fields.category !== undefined && found.category_id === null) problems.push({ in: 'body', name: 'category', reason: `no category ${fields.category}` });
  if (fields.brand !== undefined && fields.brand !== null && found.brand_id === null) problems.push({ in: 'body', name: 'brand', reason: `no brand ${fields.brand}` });
  if (problems.length > 0) throw new CatalogError('invalid-write', problems.map((problem) => problem.reason).join('; '), { errors: problems });
  return {
    ...(fields.category === undefined ? {} : { categoryId: found.category_id as number }),
    ...(fields.brand === undefined ? {} : { brandId: found.brand_id }),
  };
}

/** The slug a new product gets: the one asked for (409 when taken), or one made from its name. */
export async function newProductSlug(client: Client, name: string, asked: string | undefined): Promise<string> {
  if (asked !== undefined) {
    await requireFreeSlug(client, asked, null);
    return asked;
  }
  const base = slugFromName(name);
  const { rows } = await client.query<{ slug: string }>(`SELECT slug FROM products WHERE slug = $1 OR slug LIKE $2`, [base, `${base}-%`]);
  return uniqueSlug(base, new Set(rows.map((row) => row.slug)));
}

export async function requireFreeSlug(client: Client, slug: string, productId: number | null): Promise<void> {
  const { rows } = await client.query<{ id: number }>('SELECT id FROM products WHERE slug = $1 AND id IS DISTINCT FROM $2', [slug, productId]);
  if (rows[0]) throw new CatalogError('slug-taken', `the slug ${slug} belongs to product ${rows[0].id}`, { errors: [{ in: 'body', name: 'slug', reason: `belongs to product ${rows[0].id}` }] });
}

export async function requireFreeExternalId(client: Client, externalId: string, productId: number | null): Promise<void> {
  const { rows } = await client.query<{ id: number }>('SELECT id FROM products WHERE external_id = $1 AND id IS DISTINCT FROM $2', [externalId, productId]);
  if (rows[0]) {
    throw new CatalogError('external-id-taken', `the external id ${externalId} belongs to product ${rows[0].id}`, {
      errors: [{ in: 'body', name: 'externalId', reason: `belongs to product ${rows[0].id}` }],
    });
  }
}

/** SKUs are unique across the catalog: a SKU another product owns is a 409 naming each variant. */
export async function requireOwnSkus(client: Client, variants: readonly VariantInput[], productId: number | null): Promise<void> {
  if (variants.length === 0) return;
  const { rows } = await client.query<{ sku: string; product_id: number }>('SELECT sku, product_id FROM variants WHERE sku = ANY($1::text[]) AND product_id IS DISTINCT FROM $2', [
    variants.map((variant) => variant.sku),
    productId,
  ]);
  if (rows.length === 0) return;
  const owners = new Map(rows.map((row) => [row.sku, row.product_id]));
  const errors = variants.flatMap((variant, index) =>
    owners.has(variant.sku) ? [{ in: 'body', name: `variants.${index}.sku`, reason: `${variant.sku} belongs to product ${owners.get(variant.sku)}` }] : [],
  );
  throw new CatalogError('sku-taken', errors.map((error) => error.reason).join('; '), { errors });
}

export interface NewProduct {
  fields: ProductFields & { name: string };
  slug: string;
  categoryId: number;
  brandId: number | null;
}

export async function insertProduct(client: Client, product: NewProduct): Promise<number> {
  const { fields } = product;
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO products (external_id, slug, name, description, brand_id, category_id, attributes, images, rating, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10) RETURNING id`,
    [
      fields.externalId ?? `admin-${randomUUID()}`,
      product.slug,
      fields.name,
      fields.description ?? null,
      product.brandId,
      product.categoryId,
      JSON.stringify(fields.attributes ?? {}),
      JSON.stringify(fields.images ?? []),
      fields.rating ?? null,
      fields.status ?? 'active',
    ],
  );
  return (rows[0] as { id: number }).id;
}

// Each settable column with its SQL type (for the parameters and the IS DISTINCT FROM guard).
const COLUMNS = {
  name: 'text',
  slug: 'text',
  description: 'text',
  category_id: 'integer',
  brand_id: 'integer',
  attributes: 'jsonb',
  images: 'jsonb',
  rating: 'numeric(2,1)',
  status: 'text',
  external_id: 'text',
} as const;

/** Sets the given columns; a product whose values are already these is not touched (its version stays). */
export async function updateProductColumns(client: Client, id: number, columns: Partial<Record<keyof typeof COLUMNS, unknown>>): Promise<void> {
  const names = (Object.keys(columns) as (keyof typeof COLUMNS)[]).filter((name) => columns[name] !== undefined);
  if (names.length === 0) return;
  const values = names.map((name) => (COLUMNS[name] === 'jsonb' ? JSON.stringify(columns[name]) : columns[name]));
  const params = names.map((name, index) => `$${index + 2}::${COLUMNS[name]}`);
  await client.query(
    `UPDATE products SET ${names.map((name, index) => `${name} = ${params[index]}`).join(', ')}
      WHERE id = $1 AND (${names.join(', ')}, NULL) IS DISTINCT FROM (${params.join(', ')}, NULL)`,
    [id, ...values],
  );
}

interface VariantRow {
  sku: string;
  options: Record<string, string>;
  price_minor: number;
  compare_at_minor: number | null;
  currency: string;
  stock: number;
  position: number;
}

/**
 * Makes the product's variants exactly `variants`, in that order: removes the ones not listed,
 * updates the ones that differ, inserts the new ones (a SKU another product took meanwhile fails the
 * insert: 409). Unchanged variants are not touched.
 */
export async function replaceVariants(client: Client, productId: number, variants: readonly VariantInput[]): Promise<void> {
  const { rows } = await client.query<VariantRow>(
    'SELECT sku, options, price_minor, compare_at_minor, currency, stock, position FROM variants WHERE product_id = $1',
    [productId],
  );
  const current = new Map(rows.map((row) => [row.sku, row]));
  const listed = new Set(variants.map((variant) => variant.sku));
  const removed = rows.filter((row) => !listed.has(row.sku)).map((row) => row.sku);
  if (removed.length > 0) await client.query('DELETE FROM variants WHERE product_id = $1 AND sku = ANY($2::text[])', [productId, removed]);
  const positioned = variants.map((variant, position) => ({ ...variant, position }));
  const changed = positioned.filter((variant) => {
    const row = current.get(variant.sku);
    return row !== undefined && JSON.stringify(toRow(variant)) !== JSON.stringify(toRow(row));
  });
  if (changed.length > 0) {
    await client.query(
      `UPDATE variants v SET options = u.options, price_minor = u.price, compare_at_minor = u.compare_at, currency = u.currency, stock = u.stock, position = u.position
         FROM unnest($2::text[], $3::jsonb[], $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::int[]) AS u (sku, options, price, compare_at, currency, stock, position)
        WHERE v.product_id = $1 AND v.sku = u.sku`,
      [productId, ...variantColumns(changed)],
    );
  }
  await insertVariants(client, productId, positioned.filter((variant) => !current.has(variant.sku)));
}

export async function insertVariants(client: Client, productId: number, variants: readonly (VariantInput & { position: number })[]): Promise<void> {
  if (variants.length === 0) return;
  await client.query(
    `INSERT INTO variants (product_id, sku, options, price_minor, compare_at_minor, currency, stock, position)
     SELECT $1, * FROM unnest($2::text[], $3::jsonb[], $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::int[])`,
    [productId, ...variantColumns(variants)],
  );
}

function variantColumns(variants: readonly (VariantInput & { position: number })[]): unknown[][] {
  return [
    variants.map((variant) => variant.sku),
    variants.map((variant) => JSON.stringify(variant.options ?? {})),
    variants.map((variant) => variant.price),
    variants.map((variant) => variant.compareAtPrice ?? null),
    variants.map((variant) => variant.currency),
    variants.map((variant) => variant.stock),
    variants.map((variant) => variant.position),
  ];
}

/** One variant's stored values in one comparable shape, whether from a row or from a request. */
function toRow(variant: VariantRow | (VariantInput & { position: number })): unknown[] {
  const options = 'options' in variant && variant.options ? variant.options : {};
  const sorted = Object.entries(options).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return 'price_minor' in variant
    ? [sorted, variant.price_minor, variant.compare_at_minor, variant.currency, variant.stock, variant.position]
    : [sorted, variant.price, variant.compareAtPrice ?? null, variant.currency, variant.stock, variant.position];
}

/** A price, compare-at price and stock update of one variant; an absent field keeps its value. */
export interface VariantChange {
  sku: string;
  price?: number;
  compareAtPrice?: number | null;
  stock?: number;
}

export interface LockableVariant extends VariantPrices {
  productId: number;
}

/** The variants with these SKUs, with their product and prices (read again once the products are locked). */
export async function findVariants(client: Client, skus: readonly string[]): Promise<Map<string, LockableVariant>> {
  const { rows } = await client.query<{ sku: string; product_id: number; price_minor: number; compare_at_minor: number | null }>(
    'SELECT sku, product_id, price_minor, compare_at_minor FROM variants WHERE sku = ANY($1::text[])',
    [skus],
  );
  return new Map(rows.map((row) => [row.sku, { productId: row.product_id, price: row.price_minor, compareAt: row.compare_at_minor }]));
}

/** Applies every change in one statement; a variant already holding its values is not touched. */
export async function updateVariantPrices(client: Client, changes: readonly VariantChange[]): Promise<void> {
  await client.query(
    `WITH u AS (
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::bigint[], $5::int[]) AS u (sku, price, sets_compare_at, compare_at, stock)
     ), wanted AS (
       SELECT v.id, coalesce(u.price, v.price_minor) AS price, CASE WHEN u.sets_compare_at THEN u.compare_at ELSE v.compare_at_minor END AS compare_at,
              coalesce(u.stock, v.stock) AS stock
         FROM u JOIN variants v ON v.sku = u.sku
        WHERE (v.price_minor, v.compare_at_minor, v.stock) IS DISTINCT FROM
              (coalesce(u.price, v.price_minor), CASE WHEN u.sets_compare_at THEN u.compare_at ELSE v.compare_at_minor END, coalesce(u.stock, v.stock))
     )
     UPDATE variants v SET price_minor = w.price, compare_at_minor = w.compare_at, stock = w.stock FROM wanted w WHERE v.id = w.id`,
    [
      changes.map((change) => change.sku),
      changes.map((change) => change.price ?? null),
      changes.map((change) => change.compareAtPrice !== undefined),
      changes.map((change) => change.compareAtPrice ?? null),
      changes.map((change) => change.stock ?? null),
    ],
  );
}

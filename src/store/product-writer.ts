// Writes product drafts: categories, brands, products and variants, upserted by their natural keys.
// A row that did not change is not touched (its version stays), so a second import changes nothing
// and publishes nothing. Each changed product commits its change event with its batch
// (store/product-changes.ts), the same write path the admin API takes.
import type pg from 'pg';
import { entitySlug, uniqueSlug } from '../catalog/slug.ts';
import type { ProductDraft } from '../catalog/product-draft.ts';
import { recordProductChanges, snapshotProducts } from './product-changes.ts';

/** The actor import change events name. */
export const IMPORT_ACTOR = 'import';

const BATCH_SIZE = 1000;
// Category slugs spell the whole path ("clothing-womens-clothing-shorts"): longer than a product's.
const ENTITY_SLUG_LENGTH = 120;
// Any fixed number: two imports at once take turns instead of interleaving.
const IMPORT_LOCK = 0x696d706f7274n;

export interface WriteCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface ProductWriteResult {
  products: WriteCounts;
  variants: WriteCounts;
  categories: number;
  brands: number;
}

/** `signal` aborted: stops before the next batch's transaction, throwing its reason; what committed is whole. */
export async function writeProducts(pool: pg.Pool, drafts: readonly ProductDraft[], signal?: AbortSignal): Promise<ProductWriteResult> {
  const client = await pool.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [IMPORT_LOCK.toString()]);
    const result: ProductWriteResult = {
      products: { inserted: 0, updated: 0, unchanged: 0 },
      variants: { inserted: 0, updated: 0, unchanged: 0 },
      categories: 0,
      brands: 0,
    };
    signal?.throwIfAborted();
    await client.query('BEGIN');
    const categoryIds = await upsertCategories(client, drafts, result);
    const brandIds = await upsertBrands(client, drafts, result);
    await client.query('COMMIT');
    // Each batch is one transaction: a product and its variants are written together or not at all.
    for (let start = 0; start < drafts.length; start += BATCH_SIZE) {
      signal?.throwIfAborted();
      const batch = drafts.slice(start, start + BATCH_SIZE);
      await client.query('BEGIN');
      try {
        await upsertBatch(client, batch, categoryIds, brandIds, result);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    // Fresh statistics after a bulk write: without them the planner misjudges the category and
    // brand filters and sorts thousands of rows instead of walking a listing index (docs/listing-queries.md).
    if (result.products.inserted + result.products.updated + result.variants.inserted + result.variants.updated > 0) {
      await client.query('ANALYZE categories, brands, products, variants');
    }
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [IMPORT_LOCK.toString()]).catch(() => undefined);
    client.release();
  }
}

/** Inserts missing categories level by level; returns the id of each path, keyed by its names joined. */
async function upsertCategories(client: pg.PoolClient, drafts: readonly ProductDraft[], result: ProductWriteResult): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const depth = Math.max(0, ...drafts.map((draft) => draft.categoryPath.length));
  for (let level = 1; level <= depth; level += 1) {
    const paths = new Map<string, string[]>();
    for (const draft of drafts) {
      if (draft.categoryPath.length >= level) {
        const names = draft.categoryPath.slice(0, level);
        paths.set(categoryKey(names), names);
      }
    }
    const parents = [...paths.values()].map((names) => (level === 1 ? null : ids.get(categoryKey(names.slice(0, -1))) ?? null));
    const names = [...paths.values()].map((path) => path.at(-1) as string);
    const taken = new Set<string>();
    const slugs = [...paths.values()].map((path) => {
      // Two paths can spell one slug ("Men's" and "Mens"): the later one gets a number.
      const slug = uniqueSlug(entitySlug(path.join(' '), 'category', ENTITY_SLUG_LENGTH), taken);
      taken.add(slug);
      return slug;
    });
    const inserted = await client.query(
      `INSERT INTO categories (parent_id, name, slug)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [parents, names, slugs],
    );
    result.categories += inserted.rowCount ?? 0;
    const rows = await client.query<{ id: number; parent_id: number | null; name: string }>(
      `SELECT c.id, c.parent_id, c.name FROM categories c
         JOIN unnest($1::int[], $2::text[]) AS wanted (parent_id, name)
           ON coalesce(c.parent_id, 0) = coalesce(wanted.parent_id, 0) AND c.name = wanted.name`,
      [parents, names],
    );
    const byParentAndName = new Map(rows.rows.map((row) => [`${row.parent_id ?? 0}/${row.name}`, row.id]));
    [...paths.entries()].forEach(([key, path], index) => {
      const id = byParentAndName.get(`${parents[index] ?? 0}/${path.at(-1)}`);
      if (id === undefined) throw new Error(`category ${key} was neither inserted nor found`);
      ids.set(key, id);
    });
  }
  return ids;
}

/** Brands are one per slug: "Alisha" and "ALISHA" are one brand, named as first seen. */
async function upsertBrands(client: pg.PoolClient, drafts: readonly ProductDraft[], result: ProductWriteResult): Promise<Map<string, number>> {
  const bySlug = new Map<string, string>();
  for (const draft of drafts) {
    const slug = draft.brand ? entitySlug(draft.brand, 'brand', ENTITY_SLUG_LENGTH) : '';
    if (slug && !bySlug.has(slug)) bySlug.set(slug, draft.brand as string);
  }
  const inserted = await client.query(
    `INSERT INTO brands (slug, name) SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT DO NOTHING`,
    [[...bySlug.keys()], [...bySlug.values()]],
  );
  result.brands += inserted.rowCount ?? 0;
  const rows = await client.query<{ id: number; slug: string }>('SELECT id, slug FROM brands WHERE slug = ANY($1)', [[...bySlug.keys()]]);
  return new Map(rows.rows.map((row) => [row.slug, row.id]));
}

async function upsertBatch(
  client: pg.PoolClient,
  batch: readonly ProductDraft[],
  categoryIds: Map<string, number>,
  brandIds: Map<string, number>,
  result: ProductWriteResult,
): Promise<void> {
  const before = await snapshotProducts(client, { externalIds: batch.map((d) => d.externalId) }, { lock: true });
  const written = await client.query<{ inserted: boolean }>(
    `INSERT INTO products (external_id, slug, name, description, brand_id, category_id, attributes, images, rating, status, created_at)
     SELECT external_id, slug, name, description, brand_id, category_id, attributes, images, rating, status, coalesce(created_at, now())
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::jsonb[], $8::jsonb[], $9::numeric[], $10::text[], $11::timestamptz[])
         AS row (external_id, slug, name, description, brand_id, category_id, attributes, images, rating, status, created_at)
     ON CONFLICT (external_id) DO UPDATE SET
       slug = excluded.slug, name = excluded.name, description = excluded.description, brand_id = excluded.brand_id,
       category_id = excluded.category_id, attributes = excluded.attributes, images = excluded.images,
       rating = excluded.rating, status = excluded.status
     WHERE (products.slug, products.name, products.description, products.brand_id, products.category_id,
            products.attributes, products.images, products.rating, products.status)
       IS DISTINCT FROM
           (excluded.slug, excluded.name, excluded.description, excluded.brand_id, excluded.category_id,
            excluded.attributes, excluded.images, excluded.rating, excluded.status)
     RETURNING (xmax = 0) AS inserted`,
    [
      batch.map((d) => d.externalId),
      batch.map((d) => d.slug),
      batch.map((d) => d.name),
      batch.map((d) => d.description),
      batch.map((d) => (d.brand ? brandIds.get(entitySlug(d.brand, 'brand', ENTITY_SLUG_LENGTH)) ?? null : null)),
      batch.map((d) => categoryIds.get(categoryKey(d.categoryPath))),
      batch.map((d) => JSON.stringify(d.attributes)),
      batch.map((d) => JSON.stringify(d.images)),
      batch.map((d) => d.rating),
      batch.map((d) => d.status),
      batch.map((d) => d.createdAt),
    ],
  );
  countWrites(result.products, written.rows, batch.length);

  const ids = await client.query<{ id: number; external_id: string }>('SELECT id, external_id FROM products WHERE external_id = ANY($1)', [
    batch.map((d) => d.externalId),
  ]);
  const productIds = new Map(ids.rows.map((row) => [row.external_id, row.id]));
  const variants = batch.flatMap((draft) => draft.variants.map((variant, position) => ({ ...variant, position, productId: productIds.get(draft.externalId) })));
  if (variants.length > 0) await upsertVariants(client, variants, result);
  await recordProductChanges(client, before, [...productIds.values()], IMPORT_ACTOR);
}

async function upsertVariants(
  client: pg.PoolClient,
  variants: (ProductDraft['variants'][number] & { position: number; productId: number | undefined })[],
  result: ProductWriteResult,
): Promise<void> {
  const writtenVariants = await client.query<{ inserted: boolean }>(
    `INSERT INTO variants (product_id, sku, options, price_minor, compare_at_minor, currency, stock, position)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::int[])
     ON CONFLICT (sku) DO UPDATE SET
       options = excluded.options, price_minor = excluded.price_minor, compare_at_minor = excluded.compare_at_minor,
       currency = excluded.currency, stock = excluded.stock, position = excluded.position
     WHERE variants.product_id = excluded.product_id
       AND (variants.options, variants.price_minor, variants.compare_at_minor, variants.currency, variants.stock, variants.position)
           IS DISTINCT FROM
           (excluded.options, excluded.price_minor, excluded.compare_at_minor, excluded.currency, excluded.stock, excluded.position)
     RETURNING (xmax = 0) AS inserted`,
    [
      variants.map((v) => v.productId),
      variants.map((v) => v.sku),
      variants.map((v) => JSON.stringify(v.options)),
      variants.map((v) => v.priceMinor),
      variants.map((v) => v.compareAtMinor),
      variants.map((v) => v.currency),
      variants.map((v) => v.stock),
      variants.map((v) => v.position),
    ],
  );
  countWrites(result.variants, writtenVariants.rows, variants.length);
}

function countWrites(counts: WriteCounts, rows: readonly { inserted: boolean }[], total: number): void {
  const inserted = rows.filter((row) => row.inserted).length;
  counts.inserted += inserted;
  counts.updated += rows.length - inserted;
  counts.unchanged += total - rows.length;
}

function categoryKey(names: readonly string[]): string {
  return names.join(' >> ');
}

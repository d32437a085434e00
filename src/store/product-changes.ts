// The write half of the transactional outbox. Every write (the admin API, the import) runs the same
// three steps inside its transaction: lock and snapshot the products it will touch, write, then
// record one change event per product whose version moved. The events commit with the write or not
// at all; the relay publishes them (docs/change-pipeline.md).
import type pg from 'pg';
import { productChangeBody, type ProductChangeBody, type ProductSnapshot } from '../catalog/product-change.ts';
import { LISTED } from './product-repository.ts';

type Client = Pick<pg.PoolClient, 'query'>;

interface SnapshotRow {
  id: number;
  version: number;
  slug: string;
  name: string;
  description: string | null;
  attributes: Record<string, string>;
  images: string[];
  rating: string | null;
  status: ProductSnapshot['status'];
  listed: boolean;
  brand: { id: number; slug: string } | null;
  categories: { id: number; slug: string }[];
  variants: ProductSnapshot['variants'] | null;
}

/** Which products: by id, or by the upstream id an import knows them by. */
export type ProductSelector = { ids: readonly number[] } | { externalIds: readonly string[] };

/**
 * The products as they are now, keyed by id. With `lock`, their rows stay locked to the end of the
 * transaction (taken in id order, so two writers never deadlock): nothing changes them between this
 * snapshot and the write, and a second writer's events are numbered after this one's.
 */
export async function snapshotProducts(client: Client, selector: ProductSelector, options: { lock: boolean }): Promise<Map<number, ProductSnapshot>> {
  const [column, values, type] = 'ids' in selector ? ['p.id', selector.ids, 'bigint[]'] : ['p.external_id', selector.externalIds, 'text[]'];
  if (values.length === 0) return new Map();
  const { rows } = await client.query<SnapshotRow>(
    `SELECT p.id, p.version, p.slug, p.name, p.description, p.attributes, p.images, p.rating::text AS rating, p.status,
            (${LISTED}) AS listed,
            CASE WHEN b.id IS NULL THEN NULL ELSE json_build_object('id', b.id, 'slug', b.slug) END AS brand,
            (SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug) ORDER BY nlevel(c.path))
               FROM categories c WHERE c.path @> p.category_path) AS categories,
            (SELECT json_agg(json_build_object('sku', v.sku, 'options', v.options, 'price', v.price_minor, 'compareAt', v.compare_at_minor,
                                               'currency', v.currency, 'stock', v.stock) ORDER BY v.position, v.id)
               FROM variants v WHERE v.product_id = p.id) AS variants
       FROM products p LEFT JOIN brands b ON b.id = p.brand_id
      WHERE ${column} = ANY($1::${type})
      ORDER BY p.id
      ${options.lock ? 'FOR UPDATE OF p' : ''}`,
    [values],
  );
  return new Map(rows.map((row) => [Number(row.id), toSnapshot(row)]));
}

/**
 * Commits a change event for each product whose version moved since `before` (a product missing
 * from `before` was created). Call it last in the write's transaction, after every statement that
 * changes these products. Returns the events, in product id order.
 */
export async function recordProductChanges(
  client: Client,
  before: ReadonlyMap<number, ProductSnapshot>,
  productIds: readonly number[],
  actor: string,
): Promise<ProductChangeBody[]> {
  const after = await snapshotProducts(client, { ids: [...new Set(productIds)] }, { lock: false });
  const events: ProductChangeBody[] = [];
  for (const snapshot of after.values()) {
    const event = productChangeBody(before.get(snapshot.placement.id), snapshot, actor);
    if (event) events.push(event);
  }
  if (events.length === 0) return events;
  await client.query(
    `INSERT INTO product_changes (product_id, version, event)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[])`,
    [events.map((event) => event.productId), events.map((event) => event.version), events.map((event) => JSON.stringify(event))],
  );
  return events;
}

function toSnapshot(row: SnapshotRow): ProductSnapshot {
  const id = Number(row.id);
  return {
    placement: { id, slug: row.slug, categories: row.categories ?? [], brand: row.brand, listed: row.listed },
    version: Number(row.version),
    name: row.name,
    description: row.description,
    attributes: row.attributes,
    images: row.images,
    rating: row.rating === null ? null : Number(row.rating),
    status: row.status,
    variants: (row.variants ?? []).map((variant) => ({ ...variant, price: Number(variant.price), compareAt: variant.compareAt === null ? null : Number(variant.compareAt) })),
  };
}

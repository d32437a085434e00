// A product change: what every write commits to the outbox, the relay publishes and the indexer
// applies. One TypeBox schema is the contract (docs/change-event.schema.json is written from it by
// `npm run openapi`); consumers in other services read that file.
import Type, { type Static } from 'typebox';

/** Bump on a change a consumer of version N could misread; adding an optional field is not one. */
export const CHANGE_EVENT_SCHEMA_VERSION = 1;
export const CHANGE_EVENT_TYPE = 'catalog.product.changed';

const EntityPlacement = Type.Object({ id: Type.Integer(), slug: Type.String() });

/** Where a product sits: what names the cached pages and listings a change touches (cache-tags.ts). */
export const ProductPlacement = Type.Object(
  {
    id: Type.Integer(),
    slug: Type.String(),
    categories: Type.Array(EntityPlacement, { description: "The product's category and its ancestors, from the root down" }),
    brand: Type.Union([EntityPlacement, Type.Null()]),
    listed: Type.Boolean({ description: 'Whether shoppers can see it (active and priced)' }),
  },
  { description: 'Where the product sits: what names the listings and pages a change touches' },
);
export type ProductPlacement = Static<typeof ProductPlacement>;

/** What a change may touch, as a consumer would filter on it (a pricing cache reads only price and stock). */
export const CHANGED_FIELDS = [
  'slug',
  'name',
  'description',
  'brand',
  'category',
  'attributes',
  'images',
  'rating',
  'status',
  'price',
  'compareAtPrice',
  'stock',
  'variants',
] as const;
export type ChangedField = (typeof CHANGED_FIELDS)[number];

export const CHANGE_KINDS = ['created', 'updated', 'archived'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** The event as committed with the write: the relay adds eventId and committedAt from its outbox row. */
export const ProductChangeBody = Type.Object({
  type: Type.Literal(CHANGE_EVENT_TYPE),
  schemaVersion: Type.Literal(CHANGE_EVENT_SCHEMA_VERSION),
  productId: Type.Integer({ minimum: 1 }),
  version: Type.Integer({ minimum: 1, description: "The product's version after the change: apply only if newer than what you hold" }),
  kind: Type.Enum([...CHANGE_KINDS]),
  changed: Type.Array(Type.Enum([...CHANGED_FIELDS]), { uniqueItems: true }),
  before: Type.Union([ProductPlacement, Type.Null()], { description: 'Null when the product was created' }),
  after: ProductPlacement,
  actor: Type.String({ description: "Who wrote it: 'import', or 'admin:' and the token's name" }),
});
export type ProductChangeBody = Static<typeof ProductChangeBody>;

export const ProductChangeEvent = Type.Object(
  {
    eventId: Type.String({ pattern: '^[0-9]+$', description: "The outbox row's id: a consumer may de-duplicate by it" }),
    ...ProductChangeBody.properties,
    committedAt: Type.String({ format: 'date-time', description: 'When the write committed (to within its transaction)' }),
  },
  {
    $id: 'ProductChangeEvent',
    title: 'Product changed',
    description: 'Published to the change topic, keyed by productId, in order per product, at least once. Unknown fields may be added within a schema version: ignore them.',
  },
);
export type ProductChangeEvent = Static<typeof ProductChangeEvent>;

/** A product as the change recorder compares it before and after a write. */
export interface ProductSnapshot {
  placement: ProductPlacement;
  version: number;
  name: string;
  description: string | null;
  attributes: Record<string, string>;
  images: string[];
  rating: number | null;
  status: 'active' | 'draft' | 'archived';
  variants: { sku: string; options: Record<string, string>; price: number; compareAt: number | null; currency: string; stock: number }[];
}

/** What differs between two snapshots of one product, in CHANGED_FIELDS order. */
export function changedFields(before: ProductSnapshot, after: ProductSnapshot): ChangedField[] {
  const changed = new Set<ChangedField>();
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (before.placement.slug !== after.placement.slug) changed.add('slug');
  if (before.name !== after.name) changed.add('name');
  if (before.description !== after.description) changed.add('description');
  if (before.placement.brand?.id !== after.placement.brand?.id) changed.add('brand');
  if (before.placement.categories.at(-1)?.id !== after.placement.categories.at(-1)?.id) changed.add('category');
  if (!same(sortedEntries(before.attributes), sortedEntries(after.attributes))) changed.add('attributes');
  if (!same(before.images, after.images)) changed.add('images');
  if (before.rating !== after.rating) changed.add('rating');
  if (before.status !== after.status) changed.add('status');
  const beforeVariants = new Map(before.variants.map((variant) => [variant.sku, variant]));
  const afterSkus = new Set(after.variants.map((variant) => variant.sku));
  if (beforeVariants.size !== afterSkus.size || [...afterSkus].some((sku) => !beforeVariants.has(sku))) changed.add('variants');
  for (const variant of after.variants) {
    const old = beforeVariants.get(variant.sku);
    if (!old) continue;
    if (old.price !== variant.price || old.currency !== variant.currency) changed.add('price');
    if (old.compareAt !== variant.compareAt) changed.add('compareAtPrice');
    if (old.stock !== variant.stock) changed.add('stock');
    if (!same(sortedEntries(old.options), sortedEntries(variant.options))) changed.add('variants');
  }
  return CHANGED_FIELDS.filter((field) => changed.has(field));
}

/** The event a write commits for one product, or null when the product did not change. */
export function productChangeBody(before: ProductSnapshot | undefined, after: ProductSnapshot, actor: string): ProductChangeBody | null {
  if (before && before.version === after.version) return null;
  const changed = before ? changedFields(before, after) : [...CHANGED_FIELDS];
  const kind: ChangeKind = !before ? 'created' : after.status === 'archived' && before.status !== 'archived' ? 'archived' : 'updated';
  return {
    type: CHANGE_EVENT_TYPE,
    schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
    productId: after.placement.id,
    version: after.version,
    kind,
    // A version that moved with no field we compare (a variant's position): consumers still re-read.
    changed: changed.length > 0 ? changed : ['variants'],
    before: before?.placement ?? null,
    after: after.placement,
    actor,
  };
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

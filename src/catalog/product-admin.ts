// What the admin API writes: the shapes of its inputs and answers (TypeBox: validation, serialization
// and openapi.yaml) and the rules a write must pass before anything is written. The transactions
// are store/product-admin-store.ts; the routes api/routes/admin-products.ts.
import Type, { type Static } from 'typebox';
import { CatalogError, type FieldProblem } from './catalog-error.ts';
import { entityRefPattern } from './entity-ref.ts';
import { Currency, Money } from './listing.ts';
import { entitySlug } from './slug.ts';

/** Variants one product may have, and SKUs one bulk request may change. */
export const MAX_VARIANTS = 100;
export const MAX_BULK_ITEMS = 1000;
/** The stock column is a 32-bit integer. */
const MAX_STOCK = 2_147_483_647;

const Sku = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$', description: 'Unique across the catalog' });
// An all-digit slug would read as an id in /products/{idOrSlug}.
const Slug = (description = 'Lowercase words joined by hyphens, not all digits') =>
  Type.String({ maxLength: 120, pattern: '^(?![0-9]+$)[a-z0-9]+(?:-[a-z0-9]+)*$', description });
const EntityId = () => Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
const EntitySlug = (what: string) => Type.String({ pattern: entityRefPattern(9), description: `${what} id or slug` });
const CategoryInput = Type.Union([EntityId(), EntitySlug('Category')], { description: 'An existing category, by id or slug' });
const BrandInput = Type.Union([EntityId(), EntitySlug('Brand'), Type.Null()], { description: 'An existing brand, by id or slug; null for none' });
const Description = Type.Union([Type.String({ maxLength: 50_000 }), Type.Null()]);
const Attributes = Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.String({ maxLength: 5000 }), { maxProperties: 200 });
const Images = Type.Array(Type.String({ format: 'uri', maxLength: 2048 }), { maxItems: 50 });
const Rating = Type.Union([Type.Number({ minimum: 0, maximum: 5 }), Type.Null()], { description: 'Stored to one decimal' });
const ExternalId = (description = "The upstream system's id") => Type.String({ minLength: 1, maxLength: 200, description });
const Stock = Type.Integer({ minimum: 0, maximum: MAX_STOCK });
const CompareAt = Type.Union([Money, Type.Null()], { description: 'The "was" price; not below the price' });
const Status = Type.Enum(['active', 'draft', 'archived']);
const strict = { additionalProperties: false } as const;

export const VariantInput = Type.Object(
  {
    sku: Sku,
    options: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.String({ maxLength: 500 }), { maxProperties: 20 })),
    price: Money,
    compareAtPrice: Type.Optional(CompareAt),
    currency: Currency,
    stock: Stock,
  },
  strict,
);
export type VariantInput = Static<typeof VariantInput>;

const productFields = {
  name: Type.String({ minLength: 1, maxLength: 500 }),
  description: Type.Optional(Description),
  category: CategoryInput,
  brand: Type.Optional(BrandInput),
  attributes: Type.Optional(Attributes),
  images: Type.Optional(Images),
  rating: Type.Optional(Rating),
};

export const ProductCreate = Type.Object(
  {
    ...productFields,
    slug: Type.Optional(Slug('Default: from the name, made unique')),
    status: Type.Optional(Type.Enum(['active', 'draft'], { default: 'active' })),
    externalId: Type.Optional(ExternalId("The upstream system's id; default admin-<uuid>")),
    variants: Type.Optional(Type.Array(VariantInput, { maxItems: MAX_VARIANTS })),
  },
  { ...strict, description: 'A new product. Prices in minor units; one currency per product.' },
);
export type ProductCreate = Static<typeof ProductCreate>;

export const ProductReplace = Type.Object(
  {
    ...productFields,
    slug: Type.Optional(Slug('Omitted: the current slug stays')),
    status: Type.Optional(Type.Enum(['active', 'draft', 'archived'], { default: 'active' })),
    externalId: Type.Optional(ExternalId('Omitted: the current one stays')),
    variants: Type.Array(VariantInput, { maxItems: MAX_VARIANTS, description: 'The whole set: variants not listed are removed' }),
  },
  { ...strict, description: 'Every field of the product; one omitted takes its default (null, empty), except slug and externalId.' },
);
export type ProductReplace = Static<typeof ProductReplace>;

export const ProductPatch = Type.Object(
  {
    name: Type.Optional(productFields.name),
    slug: Type.Optional(Slug()),
    description: Type.Optional(Description),
    category: Type.Optional(CategoryInput),
    brand: Type.Optional(BrandInput),
    attributes: Type.Optional(Attributes),
    images: Type.Optional(Images),
    rating: Type.Optional(Rating),
    status: Type.Optional(Status),
    externalId: Type.Optional(ExternalId()),
  },
  { ...strict, description: 'The fields to change; the others stay. Variants change through PUT or /admin/variants.' },
);
export type ProductPatch = Static<typeof ProductPatch>;

export const VariantPatch = Type.Object({ price: Type.Optional(Money), compareAtPrice: Type.Optional(CompareAt), stock: Type.Optional(Stock) }, { ...strict, minProperties: 1 });
export type VariantPatch = Static<typeof VariantPatch>;

export const BulkVariantItem = Type.Object({ sku: Sku, price: Type.Optional(Money), compareAtPrice: Type.Optional(CompareAt), stock: Type.Optional(Stock) }, strict);
export type BulkVariantItem = Static<typeof BulkVariantItem>;

export const BulkVariantUpdate = Type.Object(
  { items: Type.Array(BulkVariantItem, { minItems: 1, maxItems: MAX_BULK_ITEMS }) },
  { ...strict, description: 'All or nothing: one item refused refuses them all, with a report naming each.' },
);
export type BulkVariantUpdate = Static<typeof BulkVariantUpdate>;

const Named = Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String() });

/** A product as the admin API answers with it: every field, status and version included. */
export const AdminProduct = Type.Object({
  id: Type.Integer(),
  externalId: Type.String(),
  slug: Type.String(),
  name: Type.String(),
  description: Description,
  status: Status,
  category: Named,
  brand: Type.Union([Named, Type.Null()]),
  attributes: Type.Record(Type.String(), Type.String()),
  images: Type.Array(Type.String()),
  rating: Rating,
  variants: Type.Array(
    Type.Object({ id: Type.Integer(), sku: Type.String(), options: Type.Record(Type.String(), Type.String()), price: Money, compareAtPrice: CompareAt, currency: Currency, stock: Stock }),
  ),
  version: Type.Integer({ description: 'The ETag; send it as If-Match to write only over this version' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}, { $id: 'AdminProduct' });
export type AdminProduct = Static<typeof AdminProduct>;

export const BulkVariantResult = Type.Object({
  items: Type.Array(Type.Object({ sku: Type.String(), productId: Type.Integer(), version: Type.Integer({ description: "The product's version after the update" }) })),
  productsChanged: Type.Integer({ minimum: 0, description: 'Products whose version moved (one change event each)' }),
});
export type BulkVariantResult = Static<typeof BulkVariantResult>;

/** The product columns a write sets; an absent one stays as it is. */
export interface ProductFields {
  name?: string;
  slug?: string;
  description?: string | null;
  /** An id or a slug, resolved by the store. */
  category?: string | number;
  brand?: string | number | null;
  attributes?: Record<string, string>;
  images?: string[];
  rating?: number | null;
  status?: AdminProduct['status'];
  externalId?: string;
}

/** A create or a replace, with the defaults of the fields it left out. */
export function completeFields(input: ProductCreate | ProductReplace): ProductFields {
  return {
    ...input,
    description: input.description ?? null,
    brand: input.brand ?? null,
    attributes: input.attributes ?? {},
    images: input.images ?? [],
    rating: input.rating ?? null,
    status: input.status ?? 'active',
  };
}

/** A product's slug from its name: the same words as a category's, never all digits. */
export function slugFromName(name: string): string {
  return entitySlug(name, 'product');
}

/** What is wrong with a product's variant set, each named: repeated SKUs, a compare-at price below the price, mixed currencies. */
export function variantSetProblems(variants: readonly VariantInput[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const first = new Map<string, number>();
  variants.forEach((variant, index) => {
    const at = `variants.${index}`;
    const seen = first.get(variant.sku);
    if (seen === undefined) first.set(variant.sku, index);
    else problems.push({ in: 'body', name: `${at}.sku`, reason: `repeats the SKU of variants.${seen}` });
    const compareAt = compareAtProblem(variant.price, variant.compareAtPrice ?? null);
    if (compareAt) problems.push({ in: 'body', name: `${at}.compareAtPrice`, reason: compareAt });
    const currency = variants[0]?.currency;
    if (variant.currency !== currency) problems.push({ in: 'body', name: `${at}.currency`, reason: `must be ${currency} like variants.0 (one currency per product)` });
  });
  return problems;
}

/** Refuses a variant set with problems (422), naming each. */
export function requireValidVariantSet(variants: readonly VariantInput[]): void {
  const problems = variantSetProblems(variants);
  if (problems.length > 0) throw new CatalogError('invalid-write', problems.map((problem) => `${problem.name} ${problem.reason}`).join('; '), { errors: problems });
}

/** A variant's prices as they are, to judge a partial update against. */
export interface VariantPrices {
  price: number;
  compareAt: number | null;
}

/** Why a compare-at price does not fit the price, or undefined when it does. */
export function compareAtProblem(price: number, compareAt: number | null): string | undefined {
  return compareAt !== null && compareAt < price ? `is ${compareAt}, below the price ${price}` : undefined;
}

/** A price and compare-at after a partial update; only a change that sets either is judged. */
export function updatedPricesProblem(current: VariantPrices, update: Pick<VariantPatch, 'price' | 'compareAtPrice'>): string | undefined {
  if (update.price === undefined && update.compareAtPrice === undefined) return undefined;
  return compareAtProblem(update.price ?? current.price, update.compareAtPrice === undefined ? current.compareAt : update.compareAtPrice);
}

/**
 * Every item of a bulk update that cannot be applied, with its index and SKU: one that sets nothing,
 * a SKU listed twice, a SKU the catalog does not have, a compare-at price that would fall below the price.
 */
export function bulkItemProblems(items: readonly BulkVariantItem[], current: ReadonlyMap<string, VariantPrices>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const problem = (field: string, reason: string) => problems.push({ in: 'body', name: `items.${index}${field}`, reason, index, sku: item.sku });
    if (item.price === undefined && item.compareAtPrice === undefined && item.stock === undefined) problem('', 'sets none of price, compareAtPrice, stock');
    const seen = first.get(item.sku);
    if (seen !== undefined) return problem('.sku', `duplicate SKU: also items.${seen}`);
    first.set(item.sku, index);
    const prices = current.get(item.sku);
    if (!prices) return problem('.sku', 'unknown SKU');
    const compareAt = updatedPricesProblem(prices, item);
    if (compareAt) problem('.compareAtPrice', compareAt);
  });
  return problems;
}

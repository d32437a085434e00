// A product page: the product with its variants and where it sits in the category tree, and the
// products shown beside it.
import Type, { type Static } from 'typebox';
import { CatalogError } from './catalog-error.ts';
import { isIdRef } from './entity-ref.ts';
import { BrandRef, Currency, Money, PriceRange, ProductSummary, Rating } from './listing.ts';

// The shapes a product page and a related list answer with: TypeBox schemas that serialize the
// responses and document them in openapi.yaml, the domain types derived from them.

export const CategoryRef = Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String() });
export type CategoryRef = Static<typeof CategoryRef>;

export const Variant = Type.Object({
  id: Type.Integer(),
  sku: Type.String(),
  options: Type.Record(Type.String(), Type.String()),
  price: Money,
  compareAtPrice: Type.Union([Money, Type.Null()]),
  currency: Currency,
  stock: Type.Integer({ minimum: 0 }),
  inStock: Type.Boolean(),
});
export type Variant = Static<typeof Variant>;

export const ProductPage = Type.Object({
  id: Type.Integer(),
  slug: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  brand: BrandRef,
  category: CategoryRef,
  categoryPath: Type.Array(CategoryRef, { description: 'From the root down to the product category' }),
  attributes: Type.Record(Type.String(), Type.String()),
  images: Type.Array(Type.String()),
  rating: Rating,
  price: Type.Union([PriceRange(), Type.Null()]),
  inStock: Type.Boolean(),
  variants: Type.Array(Variant),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  version: Type.Integer({ description: 'Increases on every change to the product or its variants' }),
});
export type ProductPage = Static<typeof ProductPage>;

export const RelatedProducts = Type.Object({ items: Type.Array(ProductSummary) });
export type RelatedProducts = Static<typeof RelatedProducts>;

export const DEFAULT_RELATED_LIMIT = 12;
export const MAX_RELATED_LIMIT = 50;

/** A product is addressed by its numeric id or its slug. */
export type ProductRef = { id: number } | { slug: string };

/**
 * Where a product's related list draws from: listed products under `category` (its category's
 * parent, or its own category at the root) or of `brand`. A related list can show a product only if
 * that product sits under the category or carries the brand, so these name, before a list is
 * loaded, every change that can alter it (cache-tags.ts relatedEntry).
 */
export interface RelatedScope {
  category: number;
  brand: number | null;
}

/** A related list and the scope it was drawn from, read together (one statement). Its response serializes `items` only. */
export type RelatedList = {
  scope: RelatedScope;
  items: ProductSummary[];
};

export interface ProductPageSource {
  findProductPage(ref: ProductRef): Promise<ProductPage | undefined>;
  findRelated(ref: ProductRef, limit: number): Promise<RelatedList | undefined>;
  /** The scope alone, without the list: what names a related list's tags before it is loaded. */
  findRelatedScope(ref: ProductRef): Promise<RelatedScope | undefined>;
}

export function parseProductRef(idOrSlug: string): ProductRef {
  return isIdRef(idOrSlug) ? { id: Number(idOrSlug) } : { slug: idOrSlug };
}

export async function getProductPage(source: ProductPageSource, idOrSlug: string): Promise<ProductPage> {
  const page = await source.findProductPage(parseProductRef(idOrSlug));
  if (!page) throw new CatalogError('product-not-found', `no product ${idOrSlug}`);
  return page;
}

export async function getRelatedProducts(source: ProductPageSource, idOrSlug: string, limit: number): Promise<RelatedList> {
  const related = await source.findRelated(parseProductRef(idOrSlug), limit);
  if (!related) throw new CatalogError('product-not-found', `no product ${idOrSlug}`);
  return related;
}

export async function getRelatedScope(source: ProductPageSource, idOrSlug: string): Promise<RelatedScope> {
  const scope = await source.findRelatedScope(parseProductRef(idOrSlug));
  if (!scope) throw new CatalogError('product-not-found', `no product ${idOrSlug}`);
  return scope;
}

export function sameRelatedScope(a: RelatedScope, b: RelatedScope): boolean {
  return a.category === b.category && a.brand === b.brand;
}

// A product page: the product with its variants and where it sits in the category tree, and the
// products shown beside it.
import { CatalogError } from './catalog-error.ts';
import { isIdRef } from './entity-ref.ts';
import type { ProductSummary } from './listing.ts';

export interface CategoryRef {
  id: number;
  slug: string;
  name: string;
}

export interface Variant {
  id: number;
  sku: string;
  options: Record<string, string>;
  price: number;
  compareAtPrice: number | null;
  currency: string;
  stock: number;
  inStock: boolean;
}

export interface ProductPage {
  id: number;
  slug: string;
  name: string;
  description: string | null;
  brand: { slug: string; name: string } | null;
  category: CategoryRef;
  /** From the root down to the product's own category. */
  categoryPath: CategoryRef[];
  attributes: Record<string, string>;
  images: string[];
  rating: number | null;
  price: { min: number; max: number; currency: string } | null;
  inStock: boolean;
  variants: Variant[];
  createdAt: string;
  updatedAt: string;
  version: number;
}

export const DEFAULT_RELATED_LIMIT = 12;
export const MAX_RELATED_LIMIT = 50;

/** A product is addressed by its numeric id or its slug. */
export type ProductRef = { id: number } | { slug: string };

export interface ProductPageSource {
  findProductPage(ref: ProductRef): Promise<ProductPage | undefined>;
  findRelated(ref: ProductRef, limit: number): Promise<ProductSummary[] | undefined>;
}

export function parseProductRef(idOrSlug: string): ProductRef {
  return isIdRef(idOrSlug) ? { id: Number(idOrSlug) } : { slug: idOrSlug };
}

export async function getProductPage(source: ProductPageSource, idOrSlug: string): Promise<ProductPage> {
  const page = await source.findProductPage(parseProductRef(idOrSlug));
  if (!page) throw new CatalogError('product-not-found', `no product ${idOrSlug}`);
  return page;
}

export async function getRelatedProducts(source: ProductPageSource, idOrSlug: string, limit: number): Promise<ProductSummary[]> {
  const related = await source.findRelated(parseProductRef(idOrSlug), limit);
  if (!related) throw new CatalogError('product-not-found', `no product ${idOrSlug}`);
  return related;
}

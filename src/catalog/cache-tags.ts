// The names cached responses are invalidated and purged by. A category, brand or product is named
// the way the request named it (id or slug), so a tag is known before anything is loaded; a change
// therefore names both forms.
import type { ListingQuery } from './listing.ts';

/** Every listing without a category or brand filter: any listed product may appear in it. */
export const ALL_LISTINGS = 'listings';
export const CATEGORY_TREE = 'categories';

export const productTag = (ref: string | number) => `product:${ref}`;
export const categoryTag = (ref: string | number) => `category:${ref}`;
export const brandTag = (ref: string | number) => `brand:${ref}`;

export function listingTags(query: Pick<ListingQuery, 'category' | 'brand'>): string[] {
  const tags: string[] = [];
  if (query.category !== undefined) tags.push(categoryTag(query.category));
  if (query.brand !== undefined) tags.push(brandTag(query.brand));
  return tags.length > 0 ? tags : [ALL_LISTINGS];
}

/** What a product change touches, before and after the change (a product may move category or brand). */
export interface ProductPlacement {
  id: number;
  slug: string;
  /** The product's category and all its ancestors. */
  categories: { id: number; slug: string }[];
  brand: { id: number; slug: string } | null;
  /** Whether shoppers could see it (active and priced). */
  listed: boolean;
}

/**
 * The tags a product change invalidates: its page and related list (by id and slug), every listing it
 * appears or appeared in, and the category tree's counts when it entered or left a category.
 */
export function productChangeTags(before: ProductPlacement | null, after: ProductPlacement | null): string[] {
  const tags = new Set<string>();
  for (const placement of [before, after]) {
    if (!placement) continue;
    tags.add(productTag(placement.id)).add(productTag(placement.slug));
    if (!(before?.listed || after?.listed)) continue;
    tags.add(ALL_LISTINGS);
    for (const category of placement.categories) tags.add(categoryTag(category.id)).add(categoryTag(category.slug));
    if (placement.brand) tags.add(brandTag(placement.brand.id)).add(brandTag(placement.brand.slug));
  }
  const sameCategory = before && after && before.categories.at(-1)?.id === after.categories.at(-1)?.id;
  if (before?.listed !== after?.listed || !sameCategory) tags.add(CATEGORY_TREE);
  return [...tags];
}

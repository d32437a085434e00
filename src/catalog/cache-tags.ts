// The names cached responses are stored, invalidated and purged by, in one place with what a change
// invalidates, so the two cannot drift apart. A category, brand or product is named the way the
// request named it (id or slug, spelled by canonicalRef), so a tag is known before anything is
// loaded; a change therefore names both forms.
import type { CategoryTree } from './category-tree.ts';
import type { ListingPage, ListingQuery } from './listing.ts';
import type { ProductPage, RelatedProducts, RelatedScope } from './product-page.ts';
import type { ProductPlacement } from './product-change.ts';
import { attributeFiltersKey, type AttributeFilter, type FacetName } from './search.ts';

/** Every listing without a category or brand filter: any listed product may appear in it. */
export const ALL_LISTINGS = 'listings';
export const CATEGORY_TREE = 'categories';
/**
 * Every search and suggestion answer: any change to a listed product can change which products a
 * query finds, and in what order, so each such change invalidates them all (docs/search.md).
 */
export const SEARCH_RESULTS = 'search';

export const productTag = (ref: string | number) => `product:${ref}`;
export const categoryTag = (ref: string | number) => `category:${ref}`;
export const brandTag = (ref: string | number) => `brand:${ref}`;
/** Related lists drawing from this category's subtree (RelatedScope.category), by category id. */
export const relatedCategoryTag = (id: number) => `related-category:${id}`;
/** Related lists drawing from this brand (RelatedScope.brand), by brand id. */
export const relatedBrandTag = (id: number) => `related-brand:${id}`;

export function listingTags(query: Pick<ListingQuery, 'category' | 'brand'>): string[] {
  const tags: string[] = [];
  if (query.category !== undefined) tags.push(categoryTag(query.category));
  if (query.brand !== undefined) tags.push(brandTag(query.brand));
  return tags.length > 0 ? tags : [ALL_LISTINGS];
}

/** A cached read: where it is stored, what invalidates it, and what a CDN may purge it by. */
export interface CacheEntry<T> {
  /** The cache key. Keep its bytes across releases: entries in Redis outlive a deploy. */
  key: string;
  /** Known before loading: a change naming any of them invalidates the entry, on every pod. */
  tags: string[];
  /** Known once loaded: added to the tags in the Surrogate-Key header. */
  surrogateKeys: (value: T) => string[];
}

/**
 * A listing page, by every parameter after validation and defaults, in a fixed order: one key per
 * distinct page. Attribute filters come sorted (attributeFiltersOf), so their order in the URL does
 * not matter. The last two segments came with the page's total: a key without them names a body
 * without it, which this release must not serve.
 */
export function listingEntry(query: ListingQuery, attributes: readonly AttributeFilter[] = [], facets: readonly FacetName[] = []): CacheEntry<ListingPage> {
  const { sort, limit, category, brand, minPrice, maxPrice, inStock, cursor } = query;
  return {
    key: `listing:${sort}:${limit}:${category ?? ''}:${brand ?? ''}:${minPrice ?? ''}:${maxPrice ?? ''}:${inStock ?? ''}:${cursor ?? ''}:${attributeFiltersKey(attributes)}:${facets.join(',')}`,
    tags: listingTags(query),
    surrogateKeys: (page) => page.items.map((item) => productTag(item.id)),
  };
}

/** A product page, by the id or slug it was asked for. */
export function productPageEntry(ref: string): CacheEntry<ProductPage> {
  return {
    key: `product:${ref}`,
    tags: [productTag(ref)],
    surrogateKeys: (page) => [productTag(page.id), productTag(page.slug), categoryTag(page.category.id), ...(page.brand ? [brandTag(page.brand.slug)] : [])],
  };
}

/**
 * The products shown beside one. Which products it will show is known only once loaded, but not
 * where they come from: its scope (the product's parent category subtree and its brand), resolved
 * before the load (relatedScopeEntry). A change to a product the list shows, or could show after
 * the change, names the scope's tags; a change to the product itself names its product tag, which
 * also covers a move of the product to another scope. The loader keeps its answer only if the scope
 * it read with the list is this one (routes/products.ts), so an entry never carries the tags of a
 * scope other than the one its list was drawn from. A CDN can purge it by the products it shows too.
 */
export function relatedEntry(ref: string, limit: number, scope: RelatedScope): CacheEntry<RelatedProducts> {
  const tags = [productTag(ref), relatedCategoryTag(scope.category)];
  if (scope.brand !== null) tags.push(relatedBrandTag(scope.brand));
  return {
    key: `related:${ref}:${limit}`,
    tags,
    surrogateKeys: (related) => related.items.map((item) => productTag(item.id)),
  };
}

/** Where a product's related list draws from, cached like a page and invalidated with the product. */
export function relatedScopeEntry(ref: string): CacheEntry<RelatedScope> {
  return { key: `related-scope:${ref}`, tags: [productTag(ref)], surrogateKeys: () => [] };
}

/** A search page, by every parameter after validation and normalisation. */
export function searchEntry(parts: {
  q: string;
  sort: string;
  limit: number;
  category: string | undefined;
  brand: string | undefined;
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  inStock?: boolean | undefined;
  attributes: string;
  facets: readonly string[];
  cursor?: string | undefined;
}): CacheEntry<{ items: { id: number }[] }> {
  const { q, sort, limit, category, brand, minPrice, maxPrice, inStock, attributes, facets, cursor } = parts;
  const tags = [SEARCH_RESULTS, ...listingTags({ category, brand }).filter((tag) => tag !== ALL_LISTINGS)];
  return {
    // The query last and encoded: it may hold any character, the separator included.
    key: `search:${sort}:${limit}:${category ?? ''}:${brand ?? ''}:${minPrice ?? ''}:${maxPrice ?? ''}:${inStock ?? ''}:${facets.join(',')}:${cursor ?? ''}:${encodeURIComponent(attributes)}:${encodeURIComponent(q)}`,
    tags,
    surrogateKeys: (result) => result.items.map((item) => productTag(item.id)),
  };
}

/** Completions for what has been typed so far. */
export function suggestEntry(q: string, limit: number): CacheEntry<unknown> {
  return { key: `suggest:${limit}:${encodeURIComponent(q)}`, tags: [SEARCH_RESULTS], surrogateKeys: () => [] };
}

export function categoryTreeEntry(): CacheEntry<CategoryTree> {
  return { key: 'categories', tags: [CATEGORY_TREE], surrogateKeys: () => [] };
}

/** What a product change touches, before and after the change (a product may move category or brand). */
export type { ProductPlacement };

/**
 * The tags a product change invalidates: its page and related list (by id and slug), every listing it
 * appears or appeared in, every related list that can show it (those drawing from any of its
 * categories or its brand), every search answer, and the category tree's counts when it entered or
 * left a category.
 * Another product's page is never named.
 */
export function productChangeTags(before: ProductPlacement | null, after: ProductPlacement | null): string[] {
  const tags = new Set<string>();
  for (const placement of [before, after]) {
    if (!placement) continue;
    tags.add(productTag(placement.id)).add(productTag(placement.slug));
    if (!(before?.listed || after?.listed)) continue;
    tags.add(ALL_LISTINGS).add(SEARCH_RESULTS);
    for (const category of placement.categories) {
      tags.add(categoryTag(category.id)).add(categoryTag(category.slug)).add(relatedCategoryTag(category.id));
    }
    if (placement.brand) tags.add(brandTag(placement.brand.id)).add(brandTag(placement.brand.slug)).add(relatedBrandTag(placement.brand.id));
  }
  const sameCategory = before && after && before.categories.at(-1)?.id === after.categories.at(-1)?.id;
  if (before?.listed !== after?.listed || !sameCategory) tags.add(CATEGORY_TREE);
  return [...tags];
}

import { describe, expect, it } from 'vitest';
import { shorts } from '../support/placements.ts';
import {
  categoryTreeEntry,
  listingEntry,
  productChangeTags,
  productPageEntry,
  relatedEntry,
  relatedScopeEntry,
  type CacheEntry,
  type ProductPlacement,
} from '../../src/catalog/cache-tags.ts';
import type { ListingQuery, ProductSummary } from '../../src/catalog/listing.ts';
import type { ProductPage, RelatedScope } from '../../src/catalog/product-page.ts';

describe('when a cached read is named', () => {
  // Entries in Redis outlive a deploy: a key spelled differently would orphan every one of them.
  it('then its key is spelled as the releases before spelled it', () => {
    // The listing keys gained their last two segments with the page's total (a body of a new shape).
    expect(listingEntry({ sort: 'newest', limit: 24 }).key).toBe('listing:newest:24::::::::');
    expect(
      listingEntry({ sort: 'price_asc', limit: 5, category: 'footwear', brand: '7', minPrice: 100, maxPrice: 5000, inStock: false, cursor: 'WyJwcmljZV9hc2MiXQ' }).key,
    ).toBe('listing:price_asc:5:footwear:7:100:5000:false:WyJwcmljZV9hc2MiXQ::');
    expect(listingEntry({ sort: 'rating', limit: 100, brand: 'alisha', inStock: true }).key).toBe('listing:rating:100::alisha:::true:::');
    expect(
      listingEntry({ sort: 'newest', limit: 24 }, [{ name: 'Color', values: ['Blue', 'Navy'] }, { name: 'Ideal For', values: ['Women'] }], ['attributes']).key,
    ).toBe('listing:newest:24:::::::Color=Blue|Navy&Ideal%20For=Women:attributes');
    expect(productPageEntry('1').key).toBe('product:1');
    expect(productPageEntry('alisha-shorts-c2d766ca').key).toBe('product:alisha-shorts-c2d766ca');
    expect(relatedEntry('1', 12, { category: 10, brand: 7 }).key).toBe('related:1:12');
    expect(categoryTreeEntry().key).toBe('categories');
  });

  it('then a listing is tagged by its filters, a product page by the product, a related list by the product and its scope, the tree as the tree', () => {
    expect(listingEntry({ sort: 'name', limit: 24, minPrice: 1 }).tags).toEqual(['listings']);
    expect(listingEntry({ sort: 'name', limit: 24, category: '11', brand: 'alisha' }).tags).toEqual(['category:11', 'brand:alisha']);
    expect(productPageEntry('alisha-shorts-c2d766ca').tags).toEqual(['product:alisha-shorts-c2d766ca']);
    expect(relatedEntry('1', 6, { category: 10, brand: 7 }).tags).toEqual(['product:1', 'related-category:10', 'related-brand:7']);
    expect(relatedEntry('1', 6, { category: 10, brand: null }).tags).toEqual(['product:1', 'related-category:10']);
    expect(relatedScopeEntry('alisha-shorts-c2d766ca').tags).toEqual(['product:alisha-shorts-c2d766ca']);
    expect(categoryTreeEntry().tags).toEqual(['categories']);
  });

  it('then its Surrogate-Key names every product it shows', () => {
    const shown = [summaryOf(shorts), summaryOf({ ...shorts, id: 2 })];
    expect(listingEntry({ sort: 'name', limit: 24 }).surrogateKeys({ items: shown, nextCursor: null, total: { value: 2, estimate: false } })).toEqual(['product:1', 'product:2']);
    expect(relatedEntry('9', 6, elsewhere).surrogateKeys({ items: shown })).toEqual(['product:1', 'product:2']);
    expect(productPageEntry('1').surrogateKeys(pageOf(shorts))).toEqual(['product:1', 'product:alisha-shorts-c2d766ca', 'category:11', 'brand:alisha']);
    expect(productPageEntry('1').surrogateKeys(pageOf({ ...shorts, brand: null }))).not.toContain('brand:alisha');
    expect(categoryTreeEntry().surrogateKeys({ categories: [] })).toEqual([]);
  });
});

const sports = [
  { id: 20, slug: 'sports' },
  { id: 21, slug: 'sports-cycling' },
];

// Where a product sat before and after each kind of change the change pipeline reports.
const changes: [string, ProductPlacement | null, ProductPlacement | null][] = [
  ['a price or stock change', shorts, shorts],
  ['a move to another category', shorts, { ...shorts, categories: sports }],
  ['a move to another brand', shorts, { ...shorts, brand: { id: 8, slug: 'ladela' } }],
  ['a brand taken away', shorts, { ...shorts, brand: null }],
  ['a brand given', { ...shorts, brand: null }, shorts],
  ['a renamed slug', shorts, { ...shorts, slug: 'alisha-cycling-shorts-c2d766ca' }],
  ['a delisting', shorts, { ...shorts, listed: false }],
  ['a draft getting listed', { ...shorts, listed: false }, shorts],
  ['a new product', null, shorts],
  ['a removed product', shorts, null],
  ['a move of category, brand and slug at once', shorts, { ...shorts, slug: 'ladela-shorts', categories: sports, brand: { id: 8, slug: 'ladela' } }],
];

describe.each(changes)('when a product changes by %s', (_kind, before, after) => {
  const tags = new Set(productChangeTags(before, after));
  const sides = [before, after].filter((side): side is ProductPlacement => side !== null);
  const invalidated = (entry: CacheEntry<never>) => entry.tags.some((tag) => tags.has(tag));

  it('then every listing that showed it, or shows it now, carries a tag the change names', () => {
    for (const side of sides.filter((placement) => placement.listed)) {
      for (const query of listingsShowing(side)) {
        expect(invalidated(listingEntry(query)), `listing ${listingEntry(query).key} of ${JSON.stringify(side)}`).toBe(true);
      }
    }
  });

  it('then its product page and its related list, by id or by either slug, carry a tag the change names', () => {
    for (const side of sides) {
      for (const ref of [String(side.id), side.slug]) {
        expect(invalidated(productPageEntry(ref)), `page ${ref}`).toBe(true);
        expect(invalidated(relatedEntry(ref, 12, elsewhere)), `related ${ref}`).toBe(true);
        expect(invalidated(relatedScopeEntry(ref)), `related scope ${ref}`).toBe(true);
      }
    }
  });

  it("then every other product's related list that can show it, before or after the change, carries a tag the change names", () => {
    for (const side of sides.filter((placement) => placement.listed)) {
      for (const scope of scopesShowing(side)) {
        expect(invalidated(relatedEntry('99', 12, scope)), `related list drawing from ${JSON.stringify(scope)}`).toBe(true);
      }
    }
  });

  it("then neither another product's page nor a related list that cannot show it is named", () => {
    expect(invalidated(productPageEntry('99'))).toBe(false);
    expect(invalidated(productPageEntry('another-product'))).toBe(false);
    expect(invalidated(relatedEntry('99', 12, elsewhere))).toBe(false);
    expect(invalidated(relatedScopeEntry('99'))).toBe(false);
  });

  // A CDN learns which products a related list shows from its Surrogate-Key: it can purge it by them.
  it("then another product's related list that shows it can be purged at a CDN by a tag the change names", () => {
    for (const side of sides) {
      const related = relatedEntry('99', 12, elsewhere);
      const surrogateKey = [...related.tags, ...related.surrogateKeys({ items: [summaryOf(side)] })];
      expect(surrogateKey.some((tag) => tags.has(tag))).toBe(true);
    }
  });

  it('then the category tree carries a tag the change names whenever a count in it moves', () => {
    const countsMove = JSON.stringify(countsShown(before)) !== JSON.stringify(countsShown(after));
    expect(!countsMove || invalidated(categoryTreeEntry())).toBe(true);
  });
});

/** Every kind of listing query a placed product appears in: unfiltered, by any of its categories, by its brand, by both. */
function listingsShowing(placement: ProductPlacement): ListingQuery[] {
  const base = { sort: 'price_asc', limit: 24 } as const;
  const categories = placement.categories.flatMap((category) => [String(category.id), category.slug]);
  const brands = placement.brand ? [String(placement.brand.id), placement.brand.slug] : [];
  return [
    base,
    { ...base, minPrice: 0, inStock: true },
    ...categories.map((category) => ({ ...base, category })),
    ...brands.map((brand) => ({ ...base, brand })),
    ...categories.flatMap((category) => brands.map((brand) => ({ ...base, category, brand }))),
  ];
}

/** A scope sharing neither a category nor the brand with any placement here. */
const elsewhere: RelatedScope = { category: 999, brand: 998 };

/**
 * The scopes of every related list that can show a listed product (findRelated): lists drawing from
 * any of its categories' subtrees (its own category or an ancestor), or from its brand.
 */
function scopesShowing(placement: ProductPlacement): RelatedScope[] {
  const byCategory = placement.categories.map((category) => ({ category: category.id, brand: elsewhere.brand }));
  return placement.brand ? [...byCategory, { category: elsewhere.category, brand: placement.brand.id }] : byCategory;
}

/** The counts the category tree shows for a product: one in each of its categories while it is listed. */
function countsShown(placement: ProductPlacement | null): number[] {
  return placement?.listed ? placement.categories.map((category) => category.id) : [];
}

function summaryOf(placement: ProductPlacement): ProductSummary {
  const brand = placement.brand ? { slug: placement.brand.slug, name: placement.brand.slug } : null;
  return { id: placement.id, slug: placement.slug, name: 'Shorts', brand, image: null, price: { min: 100, max: 100, currency: 'INR' }, inStock: true, rating: null };
}

function pageOf(placement: ProductPlacement): ProductPage {
  const categoryPath = placement.categories.map((category) => ({ ...category, name: category.slug }));
  const { id, slug, name, brand, price, inStock, rating } = summaryOf(placement);
  return {
    id,
    slug,
    name,
    brand,
    price,
    inStock,
    rating,
    description: null,
    category: categoryPath.at(-1) ?? { id: 0, slug: '', name: '' },
    categoryPath,
    attributes: {},
    images: [],
    variants: [],
    createdAt: '2016-03-25T22:59:23.000Z',
    updatedAt: '2016-03-25T22:59:23.000Z',
    version: 1,
  };
}

import { describe, expect, it } from 'vitest';
import { shorts } from '../support/placements.ts';
import { listingTags, productChangeTags } from '../../src/catalog/cache-tags.ts';
import { canonicalRef } from '../../src/catalog/entity-ref.ts';


describe('when a product changes, the tags it invalidates', () => {
  it('then a price change names its page, every listing it is in (by id and slug), every related list that can show it, every search answer, but not the category tree', () => {
    const tags = productChangeTags(shorts, shorts);
    expect(new Set(tags)).toEqual(
      new Set([
        'product:1',
        'product:alisha-shorts-c2d766ca',
        'listings',
        'category:10',
        'category:clothing',
        'category:11',
        'category:clothing-womens-clothing',
        'brand:7',
        'brand:alisha',
        'related-category:10',
        'related-category:11',
        'related-brand:7',
        'search',
      ]),
    );
  });

  it('then a move to another category names the old and the new listings and the category tree', () => {
    const moved = { ...shorts, categories: [{ id: 20, slug: 'sports' }] };
    const tags = productChangeTags(shorts, moved);
    for (const tag of ['category:11', 'category:clothing', 'category:20', 'category:sports', 'categories']) expect(tags).toContain(tag);
  });

  it("then a move to another brand names the old brand's listings as well as the new one's", () => {
    const moved = { ...shorts, brand: { id: 8, slug: 'ladela' } };
    const tags = productChangeTags(shorts, moved);
    for (const tag of ['brand:7', 'brand:alisha', 'brand:8', 'brand:ladela', 'related-brand:7', 'related-brand:8']) expect(tags).toContain(tag);
    // Neither the tree's counts nor its categories moved.
    expect(tags).not.toContain('categories');
  });

  it('then a renamed slug names the page under the old slug and the new one', () => {
    const tags = productChangeTags(shorts, { ...shorts, slug: 'alisha-cycling-shorts-c2d766ca' });
    for (const tag of ['product:1', 'product:alisha-shorts-c2d766ca', 'product:alisha-cycling-shorts-c2d766ca']) expect(tags).toContain(tag);
  });

  it('then a product leaving the listings (or a new one) changes the category tree counts', () => {
    expect(productChangeTags(shorts, { ...shorts, listed: false })).toContain('categories');
    expect(productChangeTags(null, shorts)).toContain('categories');
  });

  it('then a draft that stays a draft touches only its own page', () => {
    const draft = { ...shorts, listed: false };
    expect(new Set(productChangeTags(draft, draft))).toEqual(new Set(['product:1', 'product:alisha-shorts-c2d766ca']));
  });
});

describe('when a request names an entity', () => {
  it('then listings are tagged by their filters, or as all listings', () => {
    expect(listingTags({})).toEqual(['listings']);
    expect(listingTags({ category: 'clothing', brand: '7' })).toEqual(['category:clothing', 'brand:7']);
  });

  it('then ids are spelled one way, and long digit strings (slugs) are left alone', () => {
    expect(canonicalRef('007')).toBe('7');
    expect(canonicalRef('alisha')).toBe('alisha');
    expect(canonicalRef('12345678901234567890')).toBe('12345678901234567890');
  });
});

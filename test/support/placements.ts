// A product's placement, as the change pipeline reports it, shared by the tests of what a change invalidates.
import type { ProductPlacement } from '../../src/catalog/cache-tags.ts';

/** Women's cycling shorts by Alisha, listed, two category levels deep. */
export const shorts: ProductPlacement = {
  id: 1,
  slug: 'alisha-shorts-c2d766ca',
  categories: [
    { id: 10, slug: 'clothing' },
    { id: 11, slug: 'clothing-womens-clothing' },
  ],
  brand: { id: 7, slug: 'alisha' },
  listed: true,
};

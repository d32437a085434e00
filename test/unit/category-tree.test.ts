import { describe, expect, it } from 'vitest';
import { buildCategoryTree } from '../../src/catalog/category-tree.ts';

describe('when the category tree is built from rows', () => {
  it('then children nest under parents, sorted by name, with counts rolled up to every ancestor', () => {
    const tree = buildCategoryTree([
      { id: 3, parentId: 1, slug: 'shorts', name: 'Shorts', ownProducts: 5 },
      { id: 1, parentId: null, slug: 'clothing', name: 'Clothing', ownProducts: 1 },
      { id: 4, parentId: 3, slug: 'cycling', name: 'Cycling', ownProducts: 2 },
      { id: 2, parentId: 1, slug: 'dresses', name: 'Dresses', ownProducts: 0 },
      { id: 5, parentId: null, slug: 'bags', name: 'Bags', ownProducts: 4 },
    ]);
    expect(tree.map((node) => node.slug)).toEqual(['bags', 'clothing']);
    const clothing = tree[1];
    expect(clothing?.productCount).toBe(8);
    expect(clothing?.children.map((node) => [node.slug, node.productCount])).toEqual([['shorts', 7]]);
    expect(clothing?.children[0]?.children[0]).toMatchObject({ slug: 'cycling', productCount: 2, children: [] });
  });

  it('then a branch without a listed product is left out, and a parent listed only through one child keeps that child', () => {
    const tree = buildCategoryTree([
      { id: 1, parentId: null, slug: 'clothing', name: 'Clothing', ownProducts: 0 },
      { id: 2, parentId: 1, slug: 't-shirts', name: 'T-Shirts', ownProducts: 3 },
      // Emptied by a re-import: its products moved up to T-Shirts.
      { id: 3, parentId: 2, slug: 'teen-tees-t-shirts', name: 'Teen Tees T-Shirts', ownProducts: 0 },
      { id: 4, parentId: null, slug: 'ebooks', name: 'eBooks', ownProducts: 0 },
      { id: 5, parentId: 4, slug: 'medical', name: 'Medical', ownProducts: 0 },
    ]);
    expect(tree).toEqual([{ id: 1, slug: 'clothing', name: 'Clothing', productCount: 3, children: [{ id: 2, slug: 't-shirts', name: 'T-Shirts', productCount: 3, children: [] }] }]);
  });
});

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
    expect(clothing?.children.map((node) => [node.slug, node.productCount])).toEqual([
      ['dresses', 0],
      ['shorts', 7],
    ]);
    expect(clothing?.children[1]?.children[0]).toMatchObject({ slug: 'cycling', productCount: 2, children: [] });
  });
});

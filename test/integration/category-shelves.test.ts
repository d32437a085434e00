// Re-importing after the category rule kept real sub-categories ("Living Room Furniture" under
// "Furniture"): products the old rule filed one level up move through the import's write path, so
// their change events carry both placements and the category tree's counts follow.
// The fixtures are real rows of data/flipkart-products (CC BY-SA 4.0, PromptCloud/Kaggle), from both
// files, so the re-import changes nothing but the category.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCategoryTree, type CategoryNode } from '../../src/catalog/category-tree.ts';
import { readFlipkartFeed } from '../../src/feeds/flipkart-feed.ts';
import { importProducts } from '../../src/roles/import.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { createProductRepository } from '../../src/store/product-repository.ts';
import { writeProducts } from '../../src/store/product-writer.ts';
import { committedChanges } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';

const fixtures = ['category-shelves-20k.csv', 'category-shelves-first999.csv'].map((name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)));

// The sub-categories the old rule took for brand shelves, and where each fixture product belongs.
const REAL_SHELVES = ['Living Room Furniture', 'Gardening Tools', 'Formal Shirts', 'Casual & Party Wear Shirts', 'Pet Furniture', 'Hand Bags', 'Wrist Watches'];
const expectedPaths: Record<string, string[]> = {
  '7f7036a6d550aaa89d34c77bd39a5e48': ['Furniture', 'Living Room Furniture', 'Sofa Beds & Futons'],
  '0b72c6421a1a29f2cd0ee24e4efcc5ae': ['Tools & Hardware', 'Tools', 'Gardening Tools', 'Plant Seeds', 'Fruit Seeds'],
  '46f622a6688caa767a3f6cceb9fa8aef': ['Clothing', "Men's Clothing", 'Shirts', 'Formal Shirts'],
  '05324708277dbf2f3e8b55a660e91988': ['Clothing', "Men's Clothing", 'Shirts', 'Casual & Party Wear Shirts'],
  // A Pet Club51 bed: "Pet" begins its name, but the shelf holds Petshop7 beds too.
  '057fd5b265cc15f591137669ae3d6718': ['Furniture', 'Pet Furniture'],
  a69aa5da9fb251cf68913ee5fca12389: ['Furniture', 'Pet Furniture'],
  '7e8c707783eafee49c11f1c7dfc8b046': ['Bags, Wallets & Belts', 'Bags', 'Hand Bags'],
  a62b34aa0564cbf03b0132773eab9354: ['Watches', 'Wrist Watches'],
};
// A brand shelf ("Numero Uno T-Shirts") is still not a category: this product does not move.
const UNMOVED = '32893d6bf77c1f54ebaf05b21d9f5350';
// A brand shelf the old rule kept (it took "Teen" for an audience): the product moves up to T-Shirts
// and leaves the shelf empty.
const TEEN_TEES = '1979f445c53e454a356bdc97ffaa6c54';
const TEEN_TEES_SHELF = ['Clothing', "Men's Clothing", 'T-Shirts', 'Teen Tees T-Shirts'];

let database: { name: string; url: string };
let pool: Database;
beforeAll(async () => {
  database = await cloneCatalogDatabase('catalog_test_category_shelves');
  pool = createDatabase({ primary: database.url }, testDatabaseConfig, silentLog);
});
afterAll(async () => {
  await pool?.close();
  if (database) await dropDatabase(database.name);
});

async function categoryPaths(): Promise<Map<string, { id: number; path: string[] }>> {
  const { rows } = await pool.primary.query<{ id: string; external_id: string; path: string[] }>(
    `SELECT p.id, p.external_id, (SELECT array_agg(c.name ORDER BY nlevel(c.path)) FROM categories c WHERE c.path @> p.category_path) AS path
       FROM products p WHERE p.external_id = ANY($1)`,
    [[...Object.keys(expectedPaths), UNMOVED, TEEN_TEES]],
  );
  return new Map(rows.map((row) => [row.external_id, { id: Number(row.id), path: row.path }]));
}

async function categoryTree(): Promise<CategoryNode[]> {
  return buildCategoryTree(await createProductRepository({ pool: pool.primary }).listCategories());
}

/** The node at this path of names, if the tree shows it. */
function nodeAt(tree: readonly CategoryNode[], path: readonly string[]): CategoryNode | undefined {
  let node: CategoryNode | undefined;
  for (const name of path) {
    node = (node ? node.children : tree).find((candidate) => candidate.name === name);
    if (!node) return undefined;
  }
  return node;
}

function countAt(tree: readonly CategoryNode[], path: readonly string[]): number {
  return nodeAt(tree, path)?.productCount ?? 0;
}

describe('when products imported under the old rule are imported again', () => {
  it('then each moves to its real sub-category, with one change event recording both placements, and the tree counts follow', async () => {
    // The products as the old rule filed them: cut off at the real sub-category.
    const { products } = await readFlipkartFeed(fixtures);
    const oldDrafts = products.map((draft) => {
      if (draft.externalId === TEEN_TEES) return { ...draft, categoryPath: TEEN_TEES_SHELF };
      const cut = draft.categoryPath.findIndex((level) => REAL_SHELVES.includes(level));
      return cut < 0 ? draft : { ...draft, categoryPath: draft.categoryPath.slice(0, cut) };
    });
    await writeProducts(pool.primary, oldDrafts);
    const before = await categoryPaths();
    expect(before.get('7f7036a6d550aaa89d34c77bd39a5e48')?.path).toEqual(['Furniture']);
    expect(before.get('0b72c6421a1a29f2cd0ee24e4efcc5ae')?.path).toEqual(['Tools & Hardware', 'Tools']);
    const treeBefore = await categoryTree();
    expect(countAt(treeBefore, TEEN_TEES_SHELF)).toBe(1);
    const { rows: outbox } = await pool.primary.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM product_changes');

    const report = await importProducts(pool.primary, fixtures);

    expect(report.skipped).toEqual([]);
    expect(report.products).toEqual({ inserted: 0, updated: Object.keys(expectedPaths).length + 1, unchanged: 1 });
    const after = await categoryPaths();
    for (const [externalId, path] of Object.entries(expectedPaths)) expect([externalId, after.get(externalId)?.path]).toEqual([externalId, path]);
    expect(after.get(UNMOVED)?.path).toEqual(['Clothing', "Men's Clothing", 'T-Shirts']);
    expect(after.get(TEEN_TEES)?.path).toEqual(TEEN_TEES_SHELF.slice(0, -1));

    const events = await committedChanges(pool.primary, Number(outbox[0]?.id));
    expect(events.map((event) => event.productId).sort((a, b) => a - b)).toEqual(
      [...Object.keys(expectedPaths), TEEN_TEES]
        .map((externalId) => after.get(externalId)?.id)
        .sort((a, b) => (a ?? 0) - (b ?? 0)),
    );
    for (const event of events) {
      expect(event).toMatchObject({ kind: 'updated', changed: ['category'], actor: 'import' });
      // The placements differ (caches and the index drop the old, add the new); one holds the other as its ancestors.
      const [shorter, longer] = [event.before?.categories ?? [], event.after.categories].sort((a, b) => a.length - b.length);
      expect(longer?.length).toBeGreaterThan(shorter?.length ?? Infinity);
      expect(longer?.slice(0, shorter?.length)).toEqual(shorter);
    }
    const sofaBed = events.find((event) => event.productId === after.get('7f7036a6d550aaa89d34c77bd39a5e48')?.id);
    expect(sofaBed?.before?.categories.map((category) => category.slug)).toEqual(['furniture']);
    expect(sofaBed?.after.categories.map((category) => category.slug)).toEqual(['furniture', 'furniture-living-room-furniture', 'furniture-living-room-furniture-sofa-beds-futons']);

    // The old categories keep their subtree totals (the moved products sit below them) and the real
    // sub-categories gain exactly the moved products.
    const treeAfter = await categoryTree();
    for (const [path, gained] of [
      [['Furniture', 'Living Room Furniture'], 1],
      [['Furniture', 'Pet Furniture'], 2],
      [['Tools & Hardware', 'Tools', 'Gardening Tools'], 1],
      [['Clothing', "Men's Clothing", 'Shirts', 'Formal Shirts'], 1],
      [['Watches', 'Wrist Watches'], 1],
    ] as const) {
      expect([path, countAt(treeAfter, path) - countAt(treeBefore, path)]).toEqual([path, gained]);
    }
    expect(countAt(treeAfter, ['Furniture'])).toBe(countAt(treeBefore, ['Furniture']));
    // The emptied brand shelf is no longer shown (categories are never deleted); its parent keeps the product.
    expect(nodeAt(treeAfter, TEEN_TEES_SHELF)).toBeUndefined();
    expect(countAt(treeAfter, TEEN_TEES_SHELF.slice(0, -1))).toBe(countAt(treeBefore, TEEN_TEES_SHELF.slice(0, -1)));
    const { rows: shelves } = await pool.primary.query('SELECT 1 FROM categories WHERE name = $1', [TEEN_TEES_SHELF.at(-1)]);
    expect(shelves).toHaveLength(1);
  });
});

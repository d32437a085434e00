import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidateProductChange } from '../../src/catalog/product-invalidation.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

interface Summary {
  id: number;
  name: string;
  brand: { slug: string } | null;
  price: { min: number; max: number; currency: string };
  inStock: boolean;
  rating: number | null;
}
interface Page {
  items: Summary[];
  nextCursor: string | null;
}

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(() => catalog.close());

async function getPage(query: string): Promise<Page> {
  const response = await catalog.app.inject(`/products?${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Page>();
}

/** Follows nextCursor to the end, returning every item in order. */
async function walk(query: string): Promise<Summary[]> {
  const items: Summary[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await getPage(`${query}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    expect(page.items.length === 100 || cursor === null).toBe(true);
  } while (cursor);
  return items;
}

async function listedIds(where = 'true', params: unknown[] = []): Promise<number[]> {
  const { rows } = await catalog.database.read.query<{ id: number }>(
    `SELECT id FROM products p WHERE status = 'active' AND price_min IS NOT NULL AND ${where} ORDER BY id`,
    params,
  );
  return rows.map((row) => row.id);
}

function expectNoGapOrRepeat(items: Summary[], expectedIds: number[]): void {
  const ids = items.map((item) => item.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort((a, b) => a - b)).toEqual(expectedIds);
}

describe('when a storefront walks a listing page by page', () => {
  it('then sorting by newest (thousands of products share one timestamp) skips and repeats nothing', async () => {
    const items = await walk('sort=newest');
    expectNoGapOrRepeat(items, await listedIds());
  });

  it('then sorting by price ascending visits every product once, cheapest first', async () => {
    const items = await walk('sort=price_asc&category=clothing');
    const prices = items.map((item) => item.price.min);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expectNoGapOrRepeat(items, await listedIds(`category_path <@ (SELECT path FROM categories WHERE slug = 'clothing')`));
  });

  it('then sorting by price descending, rating and name each visit every product once in order', async () => {
    const all = await listedIds(`category_path <@ (SELECT path FROM categories WHERE slug = 'jewellery')`);
    const byPriceDesc = await walk('sort=price_desc&category=jewellery');
    expectNoGapOrRepeat(byPriceDesc, all);
    const pricesDesc = byPriceDesc.map((item) => item.price.min);
    expect(pricesDesc).toEqual([...pricesDesc].sort((a, b) => b - a));

    const byRating = await walk('sort=rating&category=jewellery');
    expectNoGapOrRepeat(byRating, all);
    const ratings = byRating.map((item) => item.rating ?? 0);
    expect(ratings).toEqual([...ratings].sort((a, b) => b - a));

    const byName = await walk('sort=name&category=jewellery');
    expectNoGapOrRepeat(byName, all);
    const { rows } = await catalog.database.read.query<{ id: number }>(
      `SELECT id FROM products WHERE id = ANY($1) ORDER BY name, id`,
      [all],
    );
    expect(byName.map((item) => item.id)).toEqual(rows.map((row) => row.id));
  });

  it('then a product added mid-walk ahead of the cursor neither shifts nor repeats the pages', async () => {
    const first = await getPage('sort=price_asc&category=footwear&limit=10');
    const client = await catalog.database.primary.connect();
    try {
      await client.query('BEGIN');
      // A cheaper product than anything seen appears before the cursor: the next page must not repeat.
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO products (external_id, slug, name, category_id)
         SELECT 'test-mid-walk', 'test-mid-walk', 'Mid-walk shoe', id FROM categories WHERE slug = 'footwear' RETURNING id`,
      );
      await client.query(
        `INSERT INTO variants (product_id, sku, price_minor, currency, stock) VALUES ($1, 'test-mid-walk', 1, 'INR', 3)`,
        [rows[0]?.id],
      );
      await client.query('COMMIT');
      const second = await getPage(`sort=price_asc&category=footwear&limit=10&cursor=${first.nextCursor}`);
      const firstIds = new Set(first.items.map((item) => item.id));
      expect(second.items.some((item) => firstIds.has(item.id))).toBe(false);
      expect(second.items.map((item) => item.id)).not.toContain(rows[0]?.id);
    } finally {
      await client.query(`DELETE FROM products WHERE external_id = 'test-mid-walk'`);
      client.release();
    }
  });
});

describe('when a storefront filters a listing', () => {
  it('then a category includes all its descendants and nothing else', async () => {
    const items = await walk('category=footwear&sort=price_asc');
    const expected = await listedIds(`category_path <@ (SELECT path FROM categories WHERE slug = 'footwear')`);
    expect(expected.length).toBeGreaterThan(1000);
    expectNoGapOrRepeat(items, expected);
    // The category's direct products are fewer than all of them: descendants were included.
    const direct = await listedIds(`category_id = (SELECT id FROM categories WHERE slug = 'footwear')`);
    expect(direct.length).toBeLessThan(expected.length);
  });

  it('then a category is found by id as well as by slug', async () => {
    const { rows } = await catalog.database.read.query<{ id: number }>(`SELECT id FROM categories WHERE slug = 'watches'`);
    const bySlug = await getPage('category=watches&sort=price_asc&limit=50');
    const byId = await getPage(`category=${rows[0]?.id}&sort=price_asc&limit=50`);
    expect(byId.items.map((item) => item.id)).toEqual(bySlug.items.map((item) => item.id));
    expect(bySlug.items.length).toBe(50);
  });

  it('then brand, price range and stock filters each hold for every item', async () => {
    const byBrand = await walk('brand=alisha&sort=price_asc');
    expect(byBrand.length).toBeGreaterThan(5);
    expect(byBrand.every((item) => item.brand?.slug === 'alisha')).toBe(true);

    const inRange = await walk('minPrice=50000&maxPrice=60000&sort=price_asc');
    expect(inRange.length).toBeGreaterThan(10);
    expect(inRange.every((item) => item.price.min >= 50000 && item.price.min <= 60000)).toBe(true);
    expectNoGapOrRepeat(inRange, await listedIds('price_min BETWEEN 50000 AND 60000'));

    const inStock = await walk('inStock=true&category=watches&sort=price_asc');
    const soldOut = await walk('inStock=false&category=watches&sort=price_asc');
    expect(inStock.every((item) => item.inStock)).toBe(true);
    expect(soldOut.every((item) => !item.inStock)).toBe(true);
    expect(soldOut.length).toBeGreaterThan(0);
    expectNoGapOrRepeat([...inStock, ...soldOut], await listedIds(`category_path <@ (SELECT path FROM categories WHERE slug = 'watches')`));
  });

  it('then drafts (no price) never appear', async () => {
    const { rows } = await catalog.database.read.query<{ id: number }>(`SELECT id FROM products WHERE status = 'draft'`);
    expect(rows.length).toBe(78);
    const all = await walk('sort=newest');
    const listed = new Set(all.map((item) => item.id));
    expect(rows.some((row) => listed.has(row.id))).toBe(false);
  });

  it('then the default page is 24 newest products with summaries', async () => {
    const page = await getPage('');
    expect(page.items).toHaveLength(24);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(page.items[0]).toMatchObject({ price: { currency: 'INR' }, inStock: expect.any(Boolean) });
  });
});

describe('when a listed product moves to another brand', () => {
  it("then the old brand's cached listing drops it and the new brand's shows it", async () => {
    const { rows } = await catalog.database.primary.query<{ id: number; price: number; brand: number; other: string }>(
      `SELECT p.id, p.price_min AS price, p.brand_id AS brand, (SELECT slug FROM brands WHERE slug <> 'alisha' ORDER BY id LIMIT 1) AS other
         FROM products p JOIN brands b ON b.id = p.brand_id
        WHERE b.slug = 'alisha' AND p.status = 'active' AND p.price_min IS NOT NULL ORDER BY p.id LIMIT 1`,
    );
    const product = rows[0] as (typeof rows)[number];
    // Both listings at exactly its price: short, and it is on their first page once it belongs there.
    const listing = (brand: string) => getPage(`brand=${brand}&minPrice=${product.price}&maxPrice=${product.price}&limit=100`);
    const shows = async (brand: string) => (await listing(brand)).items.some((item) => item.id === product.id);
    expect(await shows('alisha')).toBe(true);
    expect(await shows(product.other)).toBe(false);
    const { placements, cache } = catalog.readPath;
    const before = await placements.findPlacement(product.id);
    try {
      await catalog.database.primary.query('UPDATE products SET brand_id = (SELECT id FROM brands WHERE slug = $2) WHERE id = $1', [product.id, product.other]);
      await invalidateProductChange(cache, before, await placements.findPlacement(product.id));
      expect(await shows('alisha')).toBe(false);
      expect(await shows(product.other)).toBe(true);
    } finally {
      await catalog.database.primary.query('UPDATE products SET brand_id = $2 WHERE id = $1', [product.id, product.brand]);
      await invalidateProductChange(cache, await placements.findPlacement(product.id), before);
    }
  });
});

describe('when a listing request is wrong', () => {
  it.each([
    ['limit=101', 'limit'],
    ['limit=0', 'limit'],
    ['limit=ten', 'limit'],
    ['sort=cheapest', 'sort'],
    ['minPrice=-1', 'minPrice'],
    ['category=Not%20A%20Slug', 'category'],
    ['inStock=maybe', 'inStock'],
  ])('then %s is a 400 problem naming %s', async (query, name) => {
    const response = await catalog.app.inject(`/products?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({ type: '/problems/invalid-parameter', status: 400 });
    expect(problem.errors[0].name).toBe(name);
  });

  it('then minPrice above maxPrice is a 400 problem', async () => {
    const response = await catalog.app.inject('/products?minPrice=500&maxPrice=100');
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toMatch(/minPrice/);
  });

  it.each([
    ['garbage', 'abc'],
    ['forged JSON', Buffer.from('{"a":1}').toString('base64url')],
    ['forged sort key', Buffer.from(JSON.stringify(['price_asc', "1); DROP TABLE products; --", 5])).toString('base64url')],
    ['forged timestamp', Buffer.from(JSON.stringify(['newest', 'yesterday', 5])).toString('base64url')],
    // PostgreSQL refuses a +16 offset with a cast error: a 500 if it got that far.
    ['timestamp offset past +15:59', Buffer.from(JSON.stringify(['newest', '2016-03-25 22:59:23+16', 5])).toString('base64url')],
  ])('then a %s cursor is a 400 invalid-cursor problem', async (_kind, cursor) => {
    const sort = cursor.length > 20 && Buffer.from(cursor, 'base64url').toString().includes('newest') ? 'newest' : 'price_asc';
    const response = await catalog.app.inject(`/products?sort=${sort}&cursor=${cursor}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ type: '/problems/invalid-cursor' });
  });

  it('then a cursor from another sort is refused', async () => {
    const page = await getPage('sort=price_asc&limit=5');
    const response = await catalog.app.inject(`/products?sort=name&cursor=${page.nextCursor}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toMatch(/price_asc/);
  });

  it('then an unknown category or brand is a 404 problem', async () => {
    const category = await catalog.app.inject('/products?category=no-such-category');
    expect(category.statusCode).toBe(404);
    expect(category.json().type).toBe('/problems/category-not-found');
    const brand = await catalog.app.inject('/products?brand=999999999');
    expect(brand.statusCode).toBe(404);
    expect(brand.json().type).toBe('/problems/brand-not-found');
  });
});

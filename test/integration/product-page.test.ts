import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidateProduct } from '../../src/catalog/product-invalidation.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { listProducts } from '../../src/catalog/listing.ts';
import { createProductRepository } from '../../src/store/product-repository.ts';
import type { Queryable } from '../../src/store/postgres-guard.ts';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(() => catalog.close());

async function productIdByExternalId(externalId: string): Promise<number> {
  const { rows } = await catalog.database.read.query<{ id: number }>('SELECT id FROM products WHERE external_id = $1', [externalId]);
  return rows[0]?.id as number;
}

describe('when a shopper opens a product page', () => {
  it('then the product comes with its variants, attributes, images and category path', async () => {
    // The first Alisha shorts: described in both bundled files.
    const id = await productIdByExternalId('c2d766ca982eca8304150849735ffef9');
    const response = await catalog.app.inject(`/products/${id}`);
    expect(response.statusCode).toBe(200);
    const product = response.json();
    expect(product).toMatchObject({
      id,
      name: "Alisha Solid Women's Cycling Shorts",
      brand: { slug: 'alisha', name: 'Alisha' },
      price: { min: 37900, max: 37900, currency: 'INR' },
      attributes: { Fabric: 'Cotton Lycra', Type: 'Cycling Shorts' },
    });
    expect(product.description).toMatch(/^Key Features of Alisha/);
    expect(product.images.length).toBeGreaterThan(0);
    expect(product.categoryPath.map((c: { name: string }) => c.name)).toEqual(['Clothing', "Women's Clothing", 'Lingerie, Sleep & Swimwear', 'Shorts']);
    expect(product.category.name).toBe('Shorts');
    expect(product.variants).toEqual([
      expect.objectContaining({ sku: 'SRTEH2FF9KEDEFGF', price: 37900, compareAtPrice: 99900, currency: 'INR' }),
    ]);
  });

  it('then the same page is found by its slug', async () => {
    const byId = (await catalog.app.inject('/products/1')).json();
    const bySlug = await catalog.app.inject(`/products/${byId.slug}`);
    expect(bySlug.statusCode).toBe(200);
    expect(bySlug.json()).toEqual(byId);
  });

  it('then an unknown id or slug is a 404 problem', async () => {
    for (const ref of ['999999999', 'no-such-product']) {
      const response = await catalog.app.inject(`/products/${ref}`);
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ type: '/problems/product-not-found', status: 404 });
    }
  });

  it('then a draft product (no price) is not shown', async () => {
    const { rows } = await catalog.database.read.query<{ id: number }>(`SELECT id FROM products WHERE status = 'draft' LIMIT 1`);
    const response = await catalog.app.inject(`/products/${rows[0]?.id}`);
    expect(response.statusCode).toBe(404);
  });

  it('then a malformed reference is a 400 problem, not a lookup', async () => {
    for (const ref of ['Has%20Spaces', 'UPPER', 'a--b', '-x']) {
      const response = await catalog.app.inject(`/products/${ref}`);
      expect(response.statusCode, ref).toBe(400);
      expect(response.json().type).toBe('/problems/invalid-parameter');
    }
  });

  it('then a long digit string is looked up as a slug, never overflowing the id', async () => {
    const response = await catalog.app.inject('/products/12345678901234567890');
    expect(response.statusCode).toBe(404);
  });

  it("then a variant's price or stock change shows on the page with a higher version", async () => {
    const id = await productIdByExternalId('f449ec65dcbc041b6ae5e6a32717d01b');
    const before = (await catalog.app.inject(`/products/${id}`)).json();
    const sku = before.variants[0].sku;
    const original = await catalog.database.primary.query<{ price_minor: number; stock: number }>('SELECT price_minor, stock FROM variants WHERE sku = $1', [sku]);
    try {
      await catalog.database.primary.query('UPDATE variants SET price_minor = 12345, stock = 0 WHERE sku = $1', [sku]);
      // The change pipeline's call: without it the page would be served from the cache.
      await invalidateProduct(catalog.readPath.cache, catalog.readPath.placements, id);
      const after = (await catalog.app.inject(`/products/${id}`)).json();
      expect(after.variants[0]).toMatchObject({ price: 12345, stock: 0, inStock: false });
      expect(after.price).toMatchObject({ min: 12345, max: 12345 });
      expect(after.inStock).toBe(false);
      expect(after.version).toBeGreaterThan(before.version);
    } finally {
      await catalog.database.primary.query('UPDATE variants SET price_minor = $2, stock = $3 WHERE sku = $1', [sku, original.rows[0]?.price_minor, original.rows[0]?.stock]);
      await invalidateProduct(catalog.readPath.cache, catalog.readPath.placements, id);
    }
  });
});

describe('when a product page shows related products', () => {
  it('then products of the same category and brand come first, nearest in price', async () => {
    const id = await productIdByExternalId('c2d766ca982eca8304150849735ffef9');
    const response = await catalog.app.inject(`/products/${id}/related?limit=5`);
    expect(response.statusCode).toBe(200);
    const { items } = response.json();
    expect(items).toHaveLength(5);
    expect(items.map((item: { id: number }) => item.id)).not.toContain(id);
    expect(items.every((item: { brand: { slug: string } }) => item.brand.slug === 'alisha')).toBe(true);
    const gaps = items.map((item: { price: { min: number } }) => Math.abs(item.price.min - 37900));
    expect(gaps).toEqual([...gaps].sort((a, b) => a - b));
  });

  it('then a product with nothing related gets an empty list, and an unknown one a 404', async () => {
    const unknown = await catalog.app.inject('/products/999999999/related');
    expect(unknown.statusCode).toBe(404);
    const tooMany = await catalog.app.inject('/products/1/related?limit=51');
    expect(tooMany.statusCode).toBe(400);
  });
});

describe('when a storefront loads the category tree', () => {
  it('then every root holds its descendants and counts roll up', async () => {
    const response = await catalog.app.inject('/categories');
    expect(response.statusCode).toBe(200);
    const { categories } = response.json();
    const clothing = categories.find((c: { slug: string }) => c.slug === 'clothing');
    const { rows } = await catalog.database.read.query<{ count: number }>(
      `SELECT count(*)::int FROM products WHERE status = 'active' AND price_min IS NOT NULL
          AND category_path <@ (SELECT path FROM categories WHERE slug = 'clothing')`,
    );
    expect(clothing.productCount).toBe(rows[0]?.count);
    const childSum = clothing.children.reduce((sum: number, child: { productCount: number }) => sum + child.productCount, 0);
    expect(childSum).toBeLessThanOrEqual(clothing.productCount);
    expect(clothing.children.map((c: { name: string }) => c.name)).toContain("Women's Clothing");
  });
});

/** A repository on the test database that records the text of every query it sends. */
function repositoryRecordingQueries() {
  const texts: string[] = [];
  const recording = {
    query: (text: string, values?: unknown[]) => {
      texts.push(text);
      return catalog.database.read.query(text, values);
    },
  };
  return { repository: createProductRepository({ pool: recording as Queryable }), texts };
}

describe('when listings of one category are loaded one after another', () => {
  it('then the category is resolved once, and an unknown category is asked again every time', async () => {
    const { repository, texts } = repositoryRecordingQueries();
    const resolves = () => texts.filter((text) => text.includes('FROM categories')).length;
    for (const sort of ['newest', 'price_asc', 'rating'] as const) {
      const page = await listProducts(repository, { category: 'clothing', sort, limit: 5 });
      expect(page.items).toHaveLength(5);
    }
    expect(resolves()).toBe(1);
    for (let i = 0; i < 2; i++) {
      await expect(listProducts(repository, { category: 'no-such-category', sort: 'newest', limit: 5 })).rejects.toMatchObject({ code: 'category-not-found' });
    }
    expect(resolves()).toBe(3);
  });
});

describe('when several product pages are loaded in one event-loop turn', () => {
  it('then they are read with one query per kind of reference, each page its own, unknown ones missing', async () => {
    const { repository, texts } = repositoryRecordingQueries();
    const ids = [1, 2, 3, 999_999_999];
    const [byId, bySlug] = await Promise.all([
      Promise.all(ids.map((id) => repository.findProductPage({ id }))),
      (async () => {
        const one = await repository.findProductPage({ id: 4 });
        texts.length = 0;
        return Promise.all([one?.slug ?? '', 'no-such-product'].map((slug) => repository.findProductPage({ slug })));
      })(),
    ]);
    expect(byId.slice(0, 3).map((page) => page?.id)).toEqual([1, 2, 3]);
    expect(byId[3]).toBeUndefined();
    expect(bySlug[0]?.id).toBe(4);
    expect(bySlug[1]).toBeUndefined();
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatch(/p\.slug = ANY/);

    texts.length = 0;
    await Promise.all(ids.map((id) => repository.findProductPage({ id })));
    expect(texts).toHaveLength(1);
  });
});

// GET /products with attribute filters (attr.<name>=<value>), attribute facets and the estimated
// total, against the bundled catalogue: every answer is checked against a direct SQL count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

interface Page {
  items: { id: number }[];
  nextCursor: string | null;
  total: { value: number; estimate: boolean };
  facets?: {
    attributes?: { name: string; values: { value: string; count: number }[] }[];
    brand?: { slug: string; name: string; count: number }[];
    price?: { from: number; to: number | null; count: number }[];
  };
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

async function walkIds(query: string): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await getPage(`${query}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids.sort((a, b) => a - b);
}

const LISTED = `p.status = 'active' AND p.price_min IS NOT NULL`;

async function sqlIds(where: string, params: unknown[] = []): Promise<number[]> {
  const { rows } = await catalog.database.read.query<{ id: number }>(`SELECT id FROM products p WHERE ${LISTED} AND ${where} ORDER BY id`, params);
  return rows.map((row) => Number(row.id));
}

describe('when a listing is filtered by attributes', () => {
  it('then one attribute given once matches exactly the products with that value', async () => {
    const expected = await sqlIds(`p.attributes->>'Color' = 'Black'`);
    expect(expected.length).toBeGreaterThan(20);
    expect(await walkIds('attr.Color=Black')).toEqual(expected);
  });

  it('then several values of one attribute are OR-ed', async () => {
    const expected = await sqlIds(`p.attributes->>'Color' IN ('Black', 'White', 'Gold')`);
    expect(await walkIds('attr.Color=Black&attr.Color=White&attr.Color=Gold&sort=price_asc')).toEqual(expected);
  });

  it('then several attributes are AND-ed, names with spaces included, with the other filters', async () => {
    const expected = await sqlIds(`p.attributes->>'Color' IN ('Black', 'White') AND p.attributes->>'Ideal For' = 'Women'`);
    expect(expected.length).toBeGreaterThan(5);
    expect(await walkIds('attr.Ideal%20For=Women&attr.Color=Black&attr.Color=White')).toEqual(expected);
    const footwear = await sqlIds(`p.attributes->>'Ideal For' = 'Women' AND p.category_path <@ (SELECT path FROM categories WHERE slug = 'footwear') AND p.price_min <= 100000`);
    expect(footwear.length).toBeGreaterThan(0);
    expect(await walkIds('category=footwear&maxPrice=100000&attr.Ideal+For=Women')).toEqual(footwear);
  });

  it('then an attribute no product has, or a value none carries, matches nothing, counted exactly', async () => {
    for (const query of ['attr.Colour=Black', 'attr.Color=black', 'attr.Color=Black&attr.Fabric=Sunlight']) {
      const page = await getPage(query);
      expect(page.items, query).toEqual([]);
      expect(page.total).toEqual({ value: 0, estimate: false });
    }
  });

  it.each([
    ['an over-long name', `attr.${'N'.repeat(101)}=x`],
    ['an empty name', 'attr.=x'],
    ['a control character in the name', 'attr.Co%01lor=x'],
    ['an over-long value', `attr.Color=${'v'.repeat(201)}`],
    ['an empty value', 'attr.Color='],
    ['a control character in a value', 'attr.Color=Bl%0Ack'],
    ['too many values', Array.from({ length: 21 }, (_, i) => `attr.Color=c${i}`).join('&')],
    ['too many attributes', Array.from({ length: 11 }, (_, i) => `attr.A${i}=x`).join('&')],
    ['an unknown facet', 'facets=colour'],
    ['a facet /products does not count', 'facets=category'],
  ])('then %s is a 400 problem', async (_case, query) => {
    const response = await catalog.app.inject(`/products?${query}`);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('then the names and values at their limits are accepted', async () => {
    const page = await getPage(`attr.${'N'.repeat(100)}=${'v'.repeat(200)}&${Array.from({ length: 9 }, (_, i) => `attr.A${i}=x`).join('&')}`);
    expect(page.total).toEqual({ value: 0, estimate: false });
  });

  it('then the same filters in another order, values repeated included, are one cache entry', async () => {
    const first = await catalog.app.inject('/products?attr.Color=Black&attr.Color=White&attr.Ideal%20For=Women&sort=price_asc&limit=5');
    expect(first.headers['x-cache']).toBe('MISS');
    const reordered = await catalog.app.inject('/products?limit=5&attr.Ideal%20For=Women&attr.Color=White&sort=price_asc&attr.Color=Black&attr.Color=White');
    expect(reordered.headers['x-cache']).toBe('HIT-NEAR');
    expect(reordered.body).toBe(first.body);
    const other = await catalog.app.inject('/products?attr.Color=Black&attr.Ideal%20For=Women&sort=price_asc&limit=5');
    expect(other.headers['x-cache']).toBe('MISS');
  });
});

describe('when a listing asks for attribute facets', () => {
  async function sqlValueCounts(name: string, where: string): Promise<{ value: string; count: number }[]> {
    const { rows } = await catalog.database.read.query<{ value: string; count: number }>(
      `SELECT p.attributes->>$1 AS value, count(*)::int AS count FROM products p WHERE ${LISTED} AND p.attributes ? $1 AND ${where}
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
      [name],
    );
    return rows;
  }

  it('then without facets=attributes the page has none', async () => {
    expect(Object.keys(await getPage('attr.Color=Black'))).toEqual(['items', 'nextCursor', 'total']);
  });

  it('then each value count is what SQL counts, and a filtered attribute counts without its own filter', async () => {
    const page = await getPage('attr.Color=Black&attr.Ideal%20For=Women&facets=attributes');
    const facet = (name: string) => page.facets?.attributes?.find((attribute) => attribute.name === name)?.values;
    // Color's counts apply the Ideal For filter only; Ideal For's apply the Color filter only.
    expect(facet('Color')).toEqual(await sqlValueCounts('Color', `p.attributes->>'Ideal For' = 'Women'`));
    expect(facet('Ideal For')).toEqual(await sqlValueCounts('Ideal For', `p.attributes->>'Color' = 'Black'`));
    // Any other attribute applies both.
    const other = page.facets?.attributes?.find((attribute) => !['Color', 'Ideal For'].includes(attribute.name));
    expect(other).toBeDefined();
    expect(other?.values).toEqual(await sqlValueCounts(other?.name ?? '', `p.attributes->>'Color' = 'Black' AND p.attributes->>'Ideal For' = 'Women'`));
  });

  it('then the facets are the attributes most matching products carry, at most 10, each carried by at least 2', async () => {
    const page = await getPage('category=footwear&facets=attributes');
    const names = page.facets?.attributes?.map((attribute) => attribute.name) ?? [];
    const { rows } = await catalog.database.read.query<{ name: string; carriers: number }>(
      `SELECT e.key AS name, count(*)::int AS carriers FROM products p CROSS JOIN LATERAL jsonb_object_keys(p.attributes) e(key)
        WHERE ${LISTED} AND p.category_path <@ (SELECT path FROM categories WHERE slug = 'footwear')
        GROUP BY 1 HAVING count(*) >= 2 ORDER BY 2 DESC, 1 LIMIT 10`,
    );
    expect(names).toEqual(rows.map((row) => row.name));
    for (const attribute of page.facets?.attributes ?? []) expect(attribute.values.length).toBeLessThanOrEqual(20);
  });
});

describe('when a listing asks for brand and price facets', () => {
  const FOOTWEAR = `p.category_path <@ (SELECT path FROM categories WHERE slug = 'footwear')`;

  it('then the brand counts apply every filter but the brand, most frequent first, at most 20', async () => {
    const { rows: brands } = await catalog.database.read.query<{ slug: string }>(
      `SELECT b.slug FROM products p JOIN brands b ON b.id = p.brand_id WHERE ${LISTED} AND ${FOOTWEAR} GROUP BY b.slug ORDER BY count(*) DESC, b.slug LIMIT 1`,
    );
    const brand = brands[0]?.slug ?? '';
    const page = await getPage(`category=footwear&brand=${brand}&minPrice=30000&facets=brand`);
    const { rows } = await catalog.database.read.query<{ slug: string; count: number }>(
      `SELECT b.slug, count(*)::int AS count FROM products p JOIN brands b ON b.id = p.brand_id
        WHERE ${LISTED} AND ${FOOTWEAR} AND p.price_min >= 30000 GROUP BY b.slug ORDER BY 2 DESC, 1`,
    );
    const counted = new Map(rows.map((row) => [row.slug, row.count]));
    expect(page.facets?.brand).toHaveLength(20);
    expect(page.facets?.brand?.map((entry) => entry.count)).toEqual(rows.slice(0, 20).map((row) => row.count));
    for (const entry of page.facets?.brand ?? []) expect(entry.count, entry.slug).toBe(counted.get(entry.slug));
    expect(page.facets?.brand?.map((entry) => entry.slug)).toContain(brand);
    expect(page.facets?.price).toBeUndefined();
  });

  it('then every price bucket is listed with its count under every filter but the price range', async () => {
    const page = await getPage('category=footwear&minPrice=100000&maxPrice=200000&attr.Ideal%20For=Women&facets=price,attributes');
    const { rows } = await catalog.database.read.query<{ bucket: number; count: number }>(
      `SELECT width_bucket(p.price_min, ARRAY[0, 50000, 100000, 200000, 500000, 1000000, 2500000]::bigint[]) AS bucket, count(*)::int AS count
         FROM products p WHERE ${LISTED} AND ${FOOTWEAR} AND p.attributes->>'Ideal For' = 'Women' GROUP BY 1`,
    );
    const expected = [0, 1, 2, 3, 4, 5, 6].map((i) => rows.find((row) => row.bucket === i + 1)?.count ?? 0);
    expect(expected.reduce((sum, count) => sum + count, 0)).toBe(150);
    expect(page.facets?.price?.map((bucket) => bucket.count)).toEqual(expected);
    expect(page.facets?.price?.at(-1)).toMatchObject({ from: 2_500_000, to: null });
    expect(page.facets?.attributes?.length).toBeGreaterThan(0);
  });
});

describe('when a listing answers with its total', () => {
  async function sqlCount(where: string): Promise<number> {
    return (await sqlIds(where)).length;
  }

  it('then a listing of one page is counted exactly', async () => {
    const page = await getPage('attr.Color=Black&attr.Ideal%20For=Women&limit=100');
    expect(page.nextCursor).toBeNull();
    expect(page.total).toEqual({ value: page.items.length, estimate: false });
  });

  it.each([
    ['', 'true'],
    ['category=clothing', `p.category_path <@ (SELECT path FROM categories WHERE slug = 'clothing')`],
    ['category=jewellery&minPrice=100000', `p.category_path <@ (SELECT path FROM categories WHERE slug = 'jewellery') AND p.price_min >= 100000`],
    ['minPrice=50000&maxPrice=200000', 'p.price_min BETWEEN 50000 AND 200000'],
    ['attr.Pattern=Solid', `p.attributes->>'Pattern' = 'Solid'`],
    // Correlated filters the planner alone estimated at 10 (bench:listing-totals).
    ['category=footwear&attr.Ideal+For=Women', `p.category_path <@ (SELECT path FROM categories WHERE slug = 'footwear') AND p.attributes->>'Ideal For' = 'Women'`],
  ])('then a longer listing (%s) is flagged an estimate, within a factor of 1.5 of the true count (bench:listing-totals measured at most 1.6 over 55 filter sets)', async (query, where) => {
    const page = await getPage(`${query}&limit=10`);
    const truth = await sqlCount(where);
    expect(page.total.estimate).toBe(true);
    expect(page.total.value).toBeGreaterThan(truth / 1.5);
    expect(page.total.value).toBeLessThan(truth * 1.5);
  });

  // One statement text for every category: were PostgreSQL to settle on a generic plan for it (as it
  // does for prepared reads after five runs), every category would get the same estimate.
  it('then the estimate follows the category asked for, run after run of the same prepared statement', async () => {
    const slugs = ['clothing', 'jewellery', 'footwear', 'mobiles-accessories', 'automotive', 'home-decor-festive-needs', 'beauty-and-personal-care', 'watches'];
    for (const slug of slugs) {
      const page = await getPage(`category=${slug}&sort=name&limit=5`);
      const truth = await sqlCount(`p.category_path <@ (SELECT path FROM categories WHERE slug = '${slug}')`);
      expect(page.total.value, slug).toBeGreaterThan(truth / 1.5);
      expect(page.total.value, slug).toBeLessThan(truth * 1.5);
    }
  });

  it('then a next page is estimated too, never below the rows it has seen', async () => {
    const first = await getPage('attr.Pattern=Solid&limit=10');
    const second = await getPage(`attr.Pattern=Solid&limit=10&cursor=${first.nextCursor}`);
    expect(second.total.estimate).toBe(true);
    expect(second.total.value).toBeGreaterThanOrEqual(11);
  });
});

// /products/search and /products/suggest as a search UI calls them, on the PostgreSQL engine (the
// embedded default) and the imported catalogue: answers, paging, caching, and every kind of bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(async () => {
  await catalog?.close();
});

interface Result {
  degraded: boolean;
  engine: string;
  query: string;
  items: { id: number; name: string; highlight: { name?: string } }[];
  total: { value: number; estimate: boolean };
  facets: Record<string, unknown>;
  nextCursor: string | null;
}
const get = (url: string) => catalog.app.inject(url);

describe('when a search UI searches the catalogue', () => {
  it('then it gets relevant products with highlights, facets and a total, answered by PostgreSQL without being degraded', async () => {
    const response = await get('/products/search?q=Samsung%20mobile&limit=5');
    expect(response.statusCode).toBe(200);
    expect(response.headers['search-degraded']).toBeUndefined();
    const result = response.json<Result>();
    expect(result).toMatchObject({ degraded: false, engine: 'postgres', query: 'Samsung mobile' });
    expect(result.items.length).toBeGreaterThan(0);
    expect(result.items[0]?.highlight.name ?? '').toContain('<em>');
    expect(Object.keys(result.facets).sort()).toEqual(['attributes', 'brand', 'category', 'price']);
    expect(result.total.value).toBeGreaterThanOrEqual(result.items.length);
  });

  it('then the query is normalised (NFKC, spaces collapsed), so spellings of one query share one answer', async () => {
    const wide = await get(`/products/search?q=${encodeURIComponent('  Ｓａｍｓｕｎｇ   mobile ')}&limit=5`);
    expect(wide.json<Result>().query).toBe('Samsung mobile');
    expect(wide.headers.etag).toBe((await get('/products/search?q=Samsung%20mobile&limit=5')).headers.etag);
  });

  it('then pages follow by cursor without repeating or skipping a product', async () => {
    const seen: number[] = [];
    let url = '/products/search?q=shirt&limit=20&facets=none';
    for (let page = 0; page < 4; page += 1) {
      const result = (await get(url)).json<Result>();
      seen.push(...result.items.map((item) => item.id));
      if (!result.nextCursor) break;
      url = `/products/search?q=shirt&limit=20&facets=none&cursor=${result.nextCursor}`;
    }
    const all = (await get('/products/search?q=shirt&limit=80&facets=none')).json<Result>().items.map((item) => item.id);
    expect(seen.length).toBe(80);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all);
  });

  it('then a repeated search is answered from the cache, with an ETag and a 304 for a matching If-None-Match', async () => {
    const first = await get('/products/search?q=wrist%20watch');
    const second = await get('/products/search?q=wrist%20watch');
    expect(second.headers['x-cache']).toMatch(/^HIT/);
    expect(second.body).toBe(first.body);
    const revalidated = await catalog.app.inject({ url: '/products/search?q=wrist%20watch', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(revalidated.statusCode).toBe(304);
  });

  it.each([
    ['emoji', '👟 shoes'],
    ['CJK', '靴'],
    ['combining marks', 'cafe\u0301 mug'],
    ['right-to-left', 'حذاء'],
    ['punctuation only', '!!! ???'],
    ['SQL and tsquery syntax', "shirt' OR 1=1 -- & | ! ( ) :*"],
    ['200 characters', 'a'.repeat(200)],
  ])('then any text a shopper can type is a valid query (%s)', async (_kind, q) => {
    const response = await get(`/products/search?q=${encodeURIComponent(q)}`);
    expect(response.statusCode).toBe(200);
    expect(Array.isArray(response.json<Result>().items)).toBe(true);
  });

  it('then suggestions complete what has been typed, at most the limit asked for', async () => {
    const response = await get('/products/suggest?q=sams&limit=5');
    expect(response.statusCode).toBe(200);
    const body = response.json<{ suggestions: { kind: string; text: string; highlight: string }[] }>();
    expect(body.suggestions.length).toBeGreaterThan(0);
    expect(body.suggestions.length).toBeLessThanOrEqual(5);
    expect(body.suggestions.some((suggestion) => /samsung/i.test(suggestion.text))).toBe(true);
  });
});

describe('when the request is bad', () => {
  it.each([
    ['no q', '/products/search', 400],
    ['an empty q', '/products/search?q=', 400],
    ['a q of spaces', '/products/search?q=%20%20%20', 400],
    ['a q over 200 characters', `/products/search?q=${'a'.repeat(201)}`, 400],
    ['a control character', '/products/search?q=shoe%01', 400],
    ['a NUL', '/products/search?q=shoe%00', 400],
    ['an unknown facet', '/products/search?q=shoe&facets=category,colour', 400],
    ['a page size past the limit', '/products/search?q=shoe&limit=101', 400],
    ['a page size of 0', '/products/search?q=shoe&limit=0', 400],
    ['an unknown sort', '/products/search?q=shoe&sort=popularity', 400],
    ['minPrice above maxPrice', '/products/search?q=shoe&minPrice=500&maxPrice=100', 400],
    ['a forged cursor', '/products/search?q=shoe&cursor=bm90LWEtY3Vyc29y', 400],
    ['an attribute value over 200 characters', `/products/search?q=shoe&attr.Color=${'x'.repeat(201)}`, 400],
    ['an unknown category', '/products/search?q=shoe&category=no-such-category', 404],
    ['an unknown brand', '/products/search?q=shoe&brand=no-such-brand', 404],
    ['a suggest without q', '/products/suggest', 400],
    ['a suggest limit past 10', '/products/suggest?q=sh&limit=11', 400],
    ['a suggest q with a control character', '/products/suggest?q=sh%1b', 400],
  ])('then %s gets a %i problem, never a 500', async (_kind, url, status) => {
    const response = await get(url);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('then a cursor of another sort is refused', async () => {
    const { nextCursor } = (await get('/products/search?q=shirt&limit=2&facets=none')).json<Result>();
    const response = await get(`/products/search?q=shirt&limit=2&sort=price_asc&cursor=${nextCursor}`);
    expect(response.statusCode).toBe(400);
    expect(response.json<{ detail: string }>().detail).toMatch(/sort/);
  });
});

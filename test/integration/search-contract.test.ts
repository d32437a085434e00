// The search contract (catalog/search.ts, search/search-port.ts), asserted on every engine in
// test/support/search-engines.ts over the bundled catalogue: what a shopper's query matches, how
// filters, sorts, cursors, facets, highlights and suggestions behave, and what nothing matching gives.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchDocument } from '../../src/catalog/search-document.ts';
import { PRICE_BUCKETS, normaliseQuery, type EngineSearchResult, type FacetName, type SearchRequest, type SearchSort } from '../../src/catalog/search.ts';
import type { SearchEngine } from '../../src/search/search-port.ts';
import { foldText } from '../../src/search/search-text.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { searchEnginesUnderTest, type OpenedSearchEngine } from '../support/search-engines.ts';

const ALL_FACETS: FacetName[] = ['category', 'brand', 'price', 'attributes'];

function request(q: string, options: Partial<Omit<SearchRequest, 'q' | 'filters'>> & { filters?: Partial<SearchRequest['filters']> } = {}): SearchRequest {
  return {
    q: normaliseQuery(q),
    filters: { attributes: [], ...options.filters },
    sort: options.sort ?? 'relevance',
    limit: options.limit ?? 24,
    cursor: options.cursor,
    facets: options.facets ?? [],
  };
}

describe.each(searchEnginesUnderTest)('search contract on $name', (underTest) => {
  let databaseName: string;
  let database: Database;
  let pool: pg.Pool;
  let opened: OpenedSearchEngine;
  let engine: SearchEngine;

  beforeAll(async () => {
    const clone = await cloneCatalogDatabase(`catalog_search_${underTest.name}`);
    databaseName = clone.name;
    database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
    pool = database.primary;
    opened = await underTest.open(pool);
    engine = opened.engine;
  });

  afterAll(async () => {
    await opened?.close();
    await database?.close();
    if (databaseName) await dropDatabase(databaseName);
  });

  /** The indexed documents of a result's items (the read model is in every test database). */
  async function documentsOf(result: EngineSearchResult): Promise<SearchDocument[]> {
    const ids = result.items.map((item) => item.id);
    const { rows } = await pool.query<{ document: SearchDocument }>('SELECT document FROM search_documents WHERE product_id = ANY($1) ORDER BY array_position($1, product_id)', [ids]);
    return rows.map((row) => row.document);
  }

  const searchable = (document: SearchDocument) =>
    foldText([document.name, document.brand?.name ?? '', ...document.categories.map((category) => category.name), document.description ?? ''].join(' '));

  /** Every page of a search, walked by its cursors. */
  async function allPages(base: SearchRequest): Promise<{ ids: number[]; pages: number }> {
    const ids: number[] = [];
    let cursor: SearchRequest['cursor'];
    let pages = 0;
    do {
      const page = await engine.search({ ...base, cursor });
      ids.push(...page.items.map((item) => item.id));
      pages += 1;
      cursor = page.next === null ? undefined : { engine: engine.name, ...page.next };
    } while (cursor !== undefined && pages < 100);
    return { ids, pages };
  }

  describe('matching', () => {
    it('when a query has several words, then every product found holds every word', async () => {
      const both = await engine.search(request('samsung cover', { limit: 100 }));
      const samsung = await engine.search(request('samsung'));
      expect(both.total.value).toBeGreaterThan(5);
      expect(both.total.value).toBeLessThan(samsung.total.value);
      for (const document of await documentsOf(both)) {
        expect(searchable(document)).toContain('samsung');
        expect(searchable(document)).toContain('cover');
      }
    });

    it('when a word is misspelt ("samsng"), then the products of the word it was meant as are found, and the spelling is offered', async () => {
      const result = await engine.search(request('samsng'));
      expect(result.total.value).toBeGreaterThan(10);
      for (const document of await documentsOf(result)) expect(searchable(document)).toContain('samsung');
      expect(result.didYouMean).toBe('samsung');
    });

    it('when a shopper types "nike runing shoe", then Nike running shoes are found', async () => {
      const documents = await documentsOf(await engine.search(request('nike runing shoe')));
      expect(documents.some((document) => document.brand?.name === 'Nike' && /running shoes/i.test(document.name))).toBe(true);
    });

    it('when a query holds a word of the synonyms file that no product holds ("wristwatch"), then products named by its synonym ("watch") are found', async () => {
      const result = await engine.search(request('wristwatch'));
      expect(result.total.value).toBeGreaterThan(100);
      expect(result.relaxed).toBeNull();
      for (const document of await documentsOf(result)) expect(searchable(document)).toMatch(/watch/);
    });

    it('when the last word is still being typed, then it matches as a prefix', async () => {
      const result = await engine.search(request('samsung galax'));
      expect(result.total.value).toBeGreaterThan(0);
      for (const document of await documentsOf(result)) expect(searchable(document)).toContain('galax');
    });

    it('when a query is any Unicode a shopper can type (emoji, CJK, combining marks), then it is answered without error', async () => {
      for (const q of ['😀', '手机 case', 'cafe\u0301', 'Ж', '👍🏽 shoes', 'ﬁ', '\u200d']) {
        const result = await engine.search(request(q === '\u200d' ? 'x\u200dy' : q, { facets: ALL_FACETS }));
        expect(result.total.value).toBeGreaterThanOrEqual(0);
        expect(result.facets.price).toHaveLength(PRICE_BUCKETS.length);
      }
      const accented = await engine.search(request('Jewe\u0301llery'));
      expect(accented.total.value).toBeGreaterThan(0);
    });
  });

  describe('filters', () => {
    it('when a category is filtered on, then only products in it or below it are found', async () => {
      const { rows } = await pool.query<{ id: number; path: string }>("SELECT id, path::text FROM categories WHERE slug = 'footwear'");
      const footwear = rows[0]!;
      const result = await engine.search(request('black', { filters: { categoryPath: footwear.path }, limit: 100 }));
      expect(result.total.value).toBeGreaterThan(0);
      for (const document of await documentsOf(result)) expect(document.categories.map((category) => category.id)).toContain(footwear.id);
      const unfiltered = await engine.search(request('black'));
      expect(result.total.value).toBeLessThan(unfiltered.total.value);
    });

    it('when a brand, a price range and stock are filtered on, then every product found meets all three', async () => {
      const { rows } = await pool.query<{ id: number }>("SELECT id FROM brands WHERE slug = 'samsung'");
      const result = await engine.search(request('samsung', { filters: { brandId: rows[0]!.id, minPrice: 10_000, maxPrice: 5_000_000, inStock: true }, limit: 100 }));
      expect(result.total.value).toBeGreaterThan(0);
      for (const document of await documentsOf(result)) {
        expect(document.brand?.slug).toBe('samsung');
        expect(document.priceMin).toBeGreaterThanOrEqual(10_000);
        expect(document.priceMin).toBeLessThanOrEqual(5_000_000);
        expect(document.inStock).toBe(true);
      }
      const outOfStock = await engine.search(request('samsung', { filters: { brandId: rows[0]!.id, inStock: false }, limit: 100 }));
      for (const document of await documentsOf(outOfStock)) expect(document.inStock).toBe(false);
    });

    it("when attributes are filtered on, then one attribute's values are OR-ed and attributes are AND-ed", async () => {
      const either = await engine.search(request('shorts', { filters: { attributes: [{ name: 'Pattern', values: ['Solid', 'Printed'] }] }, limit: 100 }));
      const solid = await engine.search(request('shorts', { filters: { attributes: [{ name: 'Pattern', values: ['Solid'] }] }, limit: 100 }));
      const printed = await engine.search(request('shorts', { filters: { attributes: [{ name: 'Pattern', values: ['Printed'] }] }, limit: 100 }));
      expect(solid.total.value).toBeGreaterThan(0);
      expect(printed.total.value).toBeGreaterThan(0);
      expect(either.total.value).toBe(solid.total.value + printed.total.value);
      const both = await engine.search(
        request('shorts', { filters: { attributes: [{ name: 'Fabric', values: ['Cotton'] }, { name: 'Pattern', values: ['Solid'] }] }, limit: 100 }),
      );
      expect(both.total.value).toBeGreaterThan(0);
      expect(both.total.value).toBeLessThan(solid.total.value);
      for (const document of await documentsOf(both)) {
        expect(document.attributes['Pattern']).toBe('Solid');
        expect(document.attributes['Fabric']).toBe('Cotton');
      }
    });
  });

  describe('sorts and pages', () => {
    const orders: [SearchSort, (document: SearchDocument) => number, 'asc' | 'desc'][] = [
      ['price_asc', (document) => document.priceMin, 'asc'],
      ['price_desc', (document) => document.priceMin, 'desc'],
      ['newest', (document) => Date.parse(document.createdAt), 'desc'],
      ['rating', (document) => document.rating ?? 0, 'desc'],
    ];
    it.each(orders)('when sorted by %s, then products come in that order', async (sort, key, direction) => {
      const documents = await documentsOf(await engine.search(request('shirt', { sort, limit: 100 })));
      expect(documents.length).toBe(100);
      const keys = documents.map(key);
      const sorted = [...keys].sort((a, b) => (direction === 'asc' ? a - b : b - a));
      expect(keys).toEqual(sorted);
    });

    it('when sorted by relevance, then a product named exactly as the query comes before products that only mention it', async () => {
      const { rows } = await pool.query<{ name: string; product_id: string }>(
        "SELECT document->>'name' AS name, product_id FROM search_documents WHERE NOT removed AND document->>'name' = 'Nike' LIMIT 1",
      );
      const result = await engine.search(request('nike'));
      expect(result.items[0]?.name).toBe(rows[0]?.name ?? 'Nike');
    });

    it.each(['relevance', 'price_asc', 'newest', 'rating'] as SearchSort[])('when the pages of a %s search are walked by cursor, then no product repeats and none is skipped', async (sort) => {
      const whole = await engine.search(request('kadhai', { sort, limit: 100 }));
      expect(whole.total.value).toBeGreaterThan(20);
      expect(whole.total.value).toBeLessThanOrEqual(100);
      const walked = await allPages(request('kadhai', { sort, limit: 7 }));
      expect(walked.pages).toBe(Math.ceil(whole.total.value / 7));
      expect(new Set(walked.ids).size).toBe(walked.ids.length);
      expect(new Set(walked.ids)).toEqual(new Set(whole.items.map((item) => item.id)));
    });

    it("when the cursor is another engine's, then its offset is where the page starts", async () => {
      const whole = await engine.search(request('laptop', { limit: 30 }));
      const page = await engine.search(request('laptop', { limit: 10, cursor: { engine: 'other', offset: 10, after: ['x', 1] } }));
      expect(page.items.map((item) => item.id)).toEqual(whole.items.slice(10, 20).map((item) => item.id));
    });
  });

  describe('totals and facets', () => {
    it('when a search matches, then the total is exact and says so', async () => {
      const walked = await allPages(request('kadhai', { limit: 50 }));
      const result = await engine.search(request('kadhai'));
      expect(result.total).toEqual({ value: walked.ids.length, estimate: false });
    });

    it('when a brand is filtered on, then the brand facet still counts the other brands, and the other facets narrow', async () => {
      const open = await engine.search(request('cover', { facets: ALL_FACETS }));
      const top = open.facets.brand![0]!;
      const { rows } = await pool.query<{ id: number }>('SELECT id FROM brands WHERE slug = $1', [top.slug]);
      const filtered = await engine.search(request('cover', { facets: ALL_FACETS, filters: { brandId: rows[0]!.id } }));
      expect(filtered.facets.brand).toEqual(open.facets.brand);
      expect(filtered.total.value).toBe(top.count);
      const priceTotal = filtered.facets.price!.reduce((sum, bucket) => sum + bucket.count, 0);
      expect(priceTotal).toBe(top.count);
    });

    it('when a price range is filtered on, then the price facet lists every bucket with the counts it had without it', async () => {
      const open = await engine.search(request('watch', { facets: ['price', 'brand'] }));
      const filtered = await engine.search(request('watch', { facets: ['price', 'brand'], filters: { minPrice: 50_000, maxPrice: 99_999 } }));
      expect(filtered.facets.price!.map((bucket) => [bucket.from, bucket.to])).toEqual(PRICE_BUCKETS.map(([from, to]) => [from, to]));
      expect(filtered.facets.price).toEqual(open.facets.price);
      expect(filtered.total.value).toBe(open.facets.price![1]!.count);
      expect(filtered.facets.brand!.reduce((sum, brand) => sum + brand.count, 0)).toBeLessThan(open.facets.brand!.reduce((sum, brand) => sum + brand.count, 0) + 1);
    });

    it("when an attribute is filtered on, then its own values keep their counts and the other attributes' narrow", async () => {
      const open = await engine.search(request('shorts', { facets: ['attributes'] }));
      const pattern = open.facets.attributes!.find((attribute) => attribute.name === 'Pattern')!;
      expect(pattern.values.length).toBeGreaterThan(1);
      const filtered = await engine.search(request('shorts', { facets: ['attributes'], filters: { attributes: [{ name: 'Pattern', values: [pattern.values[0]!.value] }] } }));
      expect(filtered.facets.attributes!.find((attribute) => attribute.name === 'Pattern')).toEqual(pattern);
      expect(filtered.total.value).toBe(pattern.values[0]!.count);
    });

    it('when no category is filtered on, then the category facet lists roots; with one, its children, each counting descendants', async () => {
      const roots = await engine.search(request('shirt', { facets: ['category'] }));
      const clothing = roots.facets.category!.find((category) => category.slug === 'clothing')!;
      expect(clothing.count).toBeGreaterThan(0);
      const { rows } = await pool.query<{ path: string }>('SELECT path::text FROM categories WHERE id = $1', [clothing.id]);
      const children = await engine.search(request('shirt', { facets: ['category'], filters: { categoryPath: rows[0]!.path } }));
      expect(children.facets.category!.length).toBeGreaterThan(1);
      expect(children.total.value).toBe(clothing.count);
      // A child's count is what filtering on the child finds: the child and everything below it.
      const child = children.facets.category![0]!;
      const { rows: childRows } = await pool.query<{ path: string }>('SELECT path::text FROM categories WHERE id = $1', [child.id]);
      expect((await engine.search(request('shirt', { filters: { categoryPath: childRows[0]!.path } }))).total.value).toBe(child.count);
      const { rows: parents } = await pool.query<{ parent_id: number }>('SELECT parent_id FROM categories WHERE id = ANY($1)', [children.facets.category!.map((category) => category.id)]);
      expect(parents.every((parent) => parent.parent_id === clothing.id)).toBe(true);
    });
  });

  describe('highlights and what the index holds', () => {
    it('when a matched name holds markup, then the highlight escapes it and marks the match with <em>', async () => {
      const { rows } = await pool.query<{ document: SearchDocument; version: string }>('SELECT document, version FROM search_documents WHERE NOT removed ORDER BY product_id LIMIT 1');
      const document = { ...rows[0]!.document, name: 'Zorblax <b>cable</b> & "charger" for <script>', version: Number(rows[0]!.version) + 1 };
      await opened.writer.write([{ productId: document.id, version: document.version, document }]);
      await opened.settle();
      const [hit] = (await engine.search(request('zorblax'))).items;
      expect(hit?.highlight.name).toBe('<em>Zorblax</em> &lt;b&gt;cable&lt;/b&gt; &amp; &quot;charger&quot; for &lt;script&gt;');
    });

    it('when a product is removed (a tombstone), then no search returns it', async () => {
      const before = await engine.search(request('kadhai', { limit: 100 }));
      const target = before.items[0]!;
      const { rows } = await pool.query<{ version: string }>('SELECT version FROM search_documents WHERE product_id = $1', [target.id]);
      await opened.writer.write([{ productId: target.id, version: Number(rows[0]!.version) + 1, document: null }]);
      await opened.settle();
      const after = await engine.search(request('kadhai', { limit: 100 }));
      expect(after.items.map((item) => item.id)).not.toContain(target.id);
      expect(after.total.value).toBe(before.total.value - 1);
      expect((await engine.suggest(target.name, 10)).map((suggestion) => suggestion.slug)).not.toContain(target.slug);
    });
  });

  describe('when nothing matches', () => {
    it('then the query is offered re-spelt and the results of a relaxed query are flagged with the words dropped', async () => {
      const result = await engine.search(request('samsng qwxzvbnq'));
      expect(result.relaxed).toEqual({ query: 'samsng', dropped: ['qwxzvbnq'] });
      expect(result.items.length).toBeGreaterThan(0);
      expect(result.didYouMean).toBe('samsung qwxzvbnq');
    });

    it('then a query with no word known and none within reach finds nothing, and says no spelling', async () => {
      const result = await engine.search(request('qwxzvbnq', { facets: ALL_FACETS }));
      expect(result).toMatchObject({ items: [], total: { value: 0, estimate: false }, didYouMean: null, relaxed: null, next: null });
    });
  });

  it('when the caller has given up, then the search and the suggestion reject with its reason', async () => {
    const gaveUp = AbortSignal.abort(new Error('gave up'));
    await expect(engine.search(request('samsung'), gaveUp)).rejects.toThrow('gave up');
    await expect(engine.suggest('sams', 5, gaveUp)).rejects.toThrow('gave up');
  });

  describe('suggest', () => {
    it('when a prefix is typed, then brands and products starting with it are suggested with the prefix marked', async () => {
      const suggestions = await engine.suggest('sams', 8);
      expect(suggestions.length).toBe(8);
      expect(suggestions[0]).toMatchObject({ kind: 'brand', text: 'Samsung', slug: 'samsung', highlight: '<em>Sams</em>ung' });
      expect(suggestions.some((suggestion) => suggestion.kind === 'product')).toBe(true);
      for (const suggestion of suggestions) expect(suggestion.highlight).toContain('<em>');
    });

    it('when a category name is typed, then the category is suggested', async () => {
      const suggestions = await engine.suggest('footw', 5);
      expect(suggestions).toContainEqual(expect.objectContaining({ kind: 'category', slug: 'footwear' }));
    });

    it('when a limit is given, then no more suggestions than it come back', async () => {
      expect((await engine.suggest('s', 3)).length).toBe(3);
      expect(await engine.suggest('😀', 5)).toEqual([]);
    });
  });
});

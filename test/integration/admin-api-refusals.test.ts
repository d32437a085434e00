// What the admin API refuses: every bad request gets its 4xx problem+json, and the catalogue's
// checksum (products, variants, the outbox, idempotency keys, categories, brands) is unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogChecksum, mintToken } from '../support/admin-api.ts';
import { capturedLog } from '../support/captured-log.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';

const pim = mintToken('pim', 'read+write');
const reader = mintToken('dashboard', 'read');
const writer = mintToken('feeder', 'write');
const { lines, log } = capturedLog();

let catalog: TestCatalog;
let unconfigured: TestCatalog;
let database: { name: string; url: string };
let product1: { version: number; slug: string; sku: string };
let product2: { slug: string; sku: string };
beforeAll(async () => {
  database = await cloneCatalogDatabase('catalog_test_admin_refusals');
  catalog = await startTestCatalog({ databaseUrl: database.url, env: { ADMIN_TOKENS: [pim, reader, writer].map((token) => token.entry).join(',') }, log });
  unconfigured = await startTestCatalog({ databaseUrl: database.url });
  const { rows } = await catalog.database.primary.query<{ id: number; version: number; slug: string; sku: string }>(
    'SELECT p.id, p.version, p.slug, v.sku FROM products p JOIN variants v ON v.product_id = p.id WHERE p.id IN (1, 2) ORDER BY p.id',
  );
  product1 = rows[0] as (typeof rows)[0];
  product2 = rows[1] as (typeof rows)[0];
});
afterAll(async () => {
  await catalog?.close();
  await unconfigured?.close();
  await dropDatabase(database.name);
});

interface Attempt {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  payload?: object | string;
  headers?: Record<string, string>;
}

const validProduct = { name: 'Valid Product', category: 'footwear', variants: [{ sku: 'VALID-1', price: 1000, currency: 'INR', stock: 1 }] };

/** Sends the request as pim (unless headers say otherwise) and proves it changed nothing. */
async function refused(attempt: Attempt, app = () => catalog.app) {
  const before = await catalogChecksum(catalog.database.primary);
  const response = await app().inject({
    method: attempt.method,
    url: attempt.url,
    payload: attempt.payload,
    headers: { authorization: pim.authorization, ...attempt.headers },
  });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(await catalogChecksum(catalog.database.primary)).toBe(before);
  return { status: response.statusCode, problem: response.json<{ type: string; errors?: { name: string; reason: string; index?: number; sku?: string }[] }>(), headers: response.headers };
}

describe('when a request is not authenticated', () => {
  it('then no token is 401 with a bare Bearer challenge', async () => {
    const { status, problem, headers } = await refused({ method: 'POST', url: '/admin/products', payload: validProduct, headers: { authorization: '' } });
    expect([status, problem.type]).toEqual([401, '/problems/unauthorized']);
    expect(headers['www-authenticate']).toBe('Bearer realm="catalog-admin"');
  });

  it.each([
    ['an unknown token', `Bearer ${mintToken('pim', 'write').token}`],
    ['a token of the wrong scheme', `Basic ${Buffer.from('pim:secret').toString('base64')}`],
    ["a configured token's hash presented as the token", `Bearer ${pim.entry.split(':')[1]}`],
  ])('then %s is 401 invalid_token', async (_what, authorization) => {
    const { status, headers } = await refused({ method: 'PATCH', url: '/admin/products/1', payload: { name: 'x' }, headers: { authorization } });
    expect(status).toBe(401);
    expect(headers['www-authenticate']).toBe('Bearer realm="catalog-admin", error="invalid_token"');
  });

  it('then without ADMIN_TOKENS every admin request is 401, reads too', async () => {
    for (const attempt of [{ method: 'GET', url: '/admin/products/1' }, { method: 'POST', url: '/admin/products', payload: validProduct }] as const) {
      expect((await refused(attempt, () => unconfigured.app)).status).toBe(401);
    }
  });
});

describe('when a token lacks the scope', () => {
  it('then a read-only token writing is 403, naming the scope it lacks', async () => {
    const { status, problem, headers } = await refused({ method: 'POST', url: '/admin/variants/bulk', payload: { items: [{ sku: product1.sku, stock: 1 }] }, headers: { authorization: reader.authorization } });
    expect([status, problem.type]).toEqual([403, '/problems/forbidden']);
    expect(headers['www-authenticate']).toBe('Bearer realm="catalog-admin", error="insufficient_scope", scope="write"');
    expect((await catalog.app.inject({ url: '/admin/products/1', headers: { authorization: reader.authorization } })).statusCode).toBe(200);
  });

  it('then a write-only token reading is 403', async () => {
    expect((await refused({ method: 'GET', url: '/admin/products/1', headers: { authorization: writer.authorization } })).status).toBe(403);
  });

  it("then the log names the token's owner and never holds the token", async () => {
    await catalog.app.inject({ url: '/admin/products/1', headers: { authorization: reader.authorization, 'x-request-id': 'logged-read' } });
    const line = lines.find((entry) => entry.msg === 'request completed' && entry.reqId === 'logged-read');
    expect(line).toMatchObject({ actor: 'admin:dashboard', res: { statusCode: 200 } });
    const logged = JSON.stringify(lines);
    for (const token of [pim, reader, writer]) expect(logged).not.toContain(token.token);
    expect(lines.some((entry) => entry.actor === 'admin:feeder' && (entry.res as { statusCode: number } | undefined)?.statusCode === 403)).toBe(true);
  });
});

describe('when the body is bad', () => {
  it('then every bad field is named, each with its reason, in one 400', async () => {
    const { status, problem } = await refused({
      method: 'POST',
      url: '/admin/products',
      payload: { name: 7, category: 'Not A Slug', colour: 'red', variants: [{ sku: 'A-1', price: '100', currency: 'INR', stock: -1 }, { sku: 'A-2', currency: 'INR', price: 5, stock: 1.5, compareAtPrice: -3 }] },
    });
    expect([status, problem.type]).toEqual([400, '/problems/invalid-parameter']);
    expect(problem.errors?.map((error) => error.name).sort()).toEqual(['category', 'colour', 'name', 'variants.0.price', 'variants.0.stock', 'variants.1.compareAtPrice', 'variants.1.stock']);
    expect(problem.errors?.find((error) => error.name === 'variants.0.price')?.reason).toBe('must be integer');
  });

  it.each<[string, Attempt, number, string, string[]?]>([
    ['a missing field', { method: 'POST', url: '/admin/products', payload: { category: 'footwear' } }, 400, 'invalid-parameter', ['name']],
    ['a price as a string', { method: 'PATCH', url: `/admin/variants/SKU`, payload: { price: '12' } }, 400, 'invalid-parameter', ['price']],
    ['negative stock', { method: 'PATCH', url: '/admin/variants/SKU', payload: { stock: -1 } }, 400, 'invalid-parameter', ['stock']],
    ['a negative price in bulk', { method: 'POST', url: '/admin/variants/bulk', payload: { items: [{ sku: 'SKU', price: -5 }] } }, 400, 'invalid-parameter', ['items.0.price']],
    ['stock beyond 32 bits', { method: 'PATCH', url: '/admin/variants/SKU', payload: { stock: 2 ** 31 } }, 400, 'invalid-parameter', ['stock']],
    ['an all-digit slug', { method: 'PATCH', url: '/admin/products/1', payload: { slug: '12345' } }, 400, 'invalid-parameter', ['slug']],
    ['a NUL character', { method: 'PATCH', url: '/admin/products/1', payload: { name: 'Nul\u0000Name' } }, 400, 'invalid-parameter', ['name']],
    ['an empty variant patch', { method: 'PATCH', url: '/admin/variants/SKU', payload: {} }, 400, 'invalid-parameter'],
    ['1,001 bulk items', { method: 'POST', url: '/admin/variants/bulk', payload: { items: Array.from({ length: 1001 }, (_, i) => ({ sku: `S-${i}`, stock: 1 })) } }, 400, 'invalid-parameter', ['items']],
    ['malformed JSON', { method: 'POST', url: '/admin/products', payload: '{"name": ', headers: { 'content-type': 'application/json' } }, 400, 'bad-request'],
    ['a body that is not JSON', { method: 'POST', url: '/admin/products', payload: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported-media-type'],
    ['a 2 MB body', { method: 'POST', url: '/admin/products', payload: { ...validProduct, description: 'x'.repeat(2 * 1024 * 1024) } }, 413, 'payload-too-large'],
    ['a malformed product id', { method: 'GET', url: '/admin/products/abc' }, 400, 'invalid-parameter', ['id']],
    ['an unknown category and brand', { method: 'POST', url: '/admin/products', payload: { ...validProduct, category: 'no-such-category', brand: 999999 } }, 422, 'invalid-write', ['category', 'brand']],
    ['an unknown category on a patch', { method: 'PATCH', url: '/admin/products/1', payload: { category: 99999 } }, 422, 'invalid-write', ['category']],
    ['a compare-at price below the price', { method: 'POST', url: '/admin/products', payload: { ...validProduct, variants: [{ ...validProduct.variants[0], compareAtPrice: 999 }] } }, 422, 'invalid-write', ['variants.0.compareAtPrice']],
    ['one SKU twice in a product', { method: 'POST', url: '/admin/products', payload: { ...validProduct, variants: [validProduct.variants[0], validProduct.variants[0]] } }, 422, 'invalid-write', ['variants.1.sku']],
    ['two currencies in a product', { method: 'POST', url: '/admin/products', payload: { ...validProduct, variants: [validProduct.variants[0], { ...validProduct.variants[0], sku: 'VALID-2', currency: 'USD' }] } }, 422, 'invalid-write', ['variants.1.currency']],
    ['an unknown product', { method: 'PATCH', url: '/admin/products/999999999', payload: { name: 'Ghost' } }, 404, 'product-not-found'],
    ['an unknown SKU', { method: 'PATCH', url: '/admin/variants/NO-SUCH-SKU', payload: { stock: 3 } }, 404, 'variant-not-found'],
  ])('then %s is refused', async (_what, attempt, status, type, names) => {
    const result = await refused({ ...attempt, url: attempt.url.replace('SKU', product1.sku) });
    expect([result.status, result.problem.type]).toEqual([status, `/problems/${type}`]);
    if (names) expect(result.problem.errors?.map((error) => error.name)).toEqual(names);
  });
});

describe('when a write conflicts with another product or version', () => {
  it.each<[string, () => Attempt, number, string]>([
    ['a slug another product has', () => ({ method: 'PATCH', url: '/admin/products/1', payload: { slug: product2.slug } }), 409, 'slug-taken'],
    ['a new product with a taken slug', () => ({ method: 'POST', url: '/admin/products', payload: { ...validProduct, slug: product2.slug } }), 409, 'slug-taken'],
    ['a SKU another product has', () => ({ method: 'POST', url: '/admin/products', payload: { ...validProduct, variants: [{ ...validProduct.variants[0], sku: product2.sku }] } }), 409, 'sku-taken'],
    ['a replace taking another product\'s SKU', () => ({ method: 'PUT', url: '/admin/products/1', payload: { ...validProduct, variants: [{ ...validProduct.variants[0], sku: product2.sku }] } }), 409, 'sku-taken'],
    ['an external id another product has', () => ({ method: 'PATCH', url: '/admin/products/2', payload: { externalId: 'c2d766ca982eca8304150849735ffef9' } }), 409, 'external-id-taken'],
    ['a stale If-Match', () => ({ method: 'PATCH', url: '/admin/products/1', payload: { name: 'Late' }, headers: { 'if-match': `"${product1.version - 1}"` } }), 412, 'version-mismatch'],
    ['a stale If-Match on a variant', () => ({ method: 'PATCH', url: `/admin/variants/${product1.sku}`, payload: { stock: 4 }, headers: { 'if-match': '"1"' } }), 412, 'version-mismatch'],
    ['a compare-at price the new price passes', () => ({ method: 'PATCH', url: `/admin/variants/${product1.sku}`, payload: { price: 99_999_999 } }), 422, 'invalid-write'],
  ])('then %s is refused', async (_what, attempt, status, type) => {
    const result = await refused(attempt());
    expect([result.status, result.problem.type]).toEqual([status, `/problems/${type}`]);
  });
});

describe('when a bulk update holds one item that cannot be applied', () => {
  it('then 999 good items and one unknown SKU change nothing, and the report names that item', async () => {
    const { rows } = await catalog.database.primary.query<{ sku: string }>('SELECT sku FROM variants ORDER BY id LIMIT 999');
    const items: { sku: string; price?: number; stock?: number }[] = rows.map((row) => ({ sku: row.sku, stock: 5000 }));
    items.splice(500, 0, { sku: 'NO-SUCH-SKU', price: 100 });
    const { status, problem } = await refused({ method: 'POST', url: '/admin/variants/bulk', payload: { items }, headers: { 'idempotency-key': 'bulk-refused' } });
    expect([status, problem.type]).toEqual([422, '/problems/invalid-write']);
    expect(problem.errors).toEqual([{ in: 'body', name: 'items.500.sku', reason: 'unknown SKU', index: 500, sku: 'NO-SUCH-SKU' }]);
  });

  it('then every bad item is reported: duplicates, unknown SKUs, an item setting nothing', async () => {
    const { status, problem } = await refused({
      method: 'POST',
      url: '/admin/variants/bulk',
      payload: { items: [{ sku: product1.sku, stock: 1 }, { sku: 'GONE-1', stock: 1 }, { sku: product1.sku, price: 1 }, { sku: product2.sku }, { sku: 'GONE-2', stock: 2 }] },
    });
    expect(status).toBe(422);
    expect(problem.errors?.map((error) => [error.index, error.name, error.reason])).toEqual([
      [1, 'items.1.sku', 'unknown SKU'],
      [2, 'items.2.sku', 'duplicate SKU: also items.0'],
      [3, 'items.3', 'sets none of price, compareAtPrice, stock'],
      [4, 'items.4.sku', 'unknown SKU'],
    ]);
  });

  it('then a compare-at price below the price is named on its item', async () => {
    const { problem } = await refused({ method: 'POST', url: '/admin/variants/bulk', payload: { items: [{ sku: product2.sku, price: 500, compareAtPrice: 100 }] } });
    expect(problem.errors).toEqual([{ in: 'body', name: 'items.0.compareAtPrice', reason: 'is 100, below the price 500', index: 0, sku: product2.sku }]);
  });
});

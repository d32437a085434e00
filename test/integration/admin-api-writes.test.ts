// The admin API's writes on a copy of the catalogue: each commits exactly the change events it should
// (the outbox is the write's boundary), answers with the product's version as its ETag, honours
// If-Match against the locked row, and replays an Idempotency-Key's first answer without writing again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminProduct } from '../../src/catalog/product-admin.ts';
import { createProductAdminStore } from '../../src/store/product-admin-store.ts';
import { changesAfter, lastChangeId, mintToken } from '../support/admin-api.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';

const pim = mintToken('pim', 'read+write');
const erp = mintToken('erp', 'write');

let catalog: TestCatalog;
let database: { name: string; url: string };
beforeAll(async () => {
  database = await cloneCatalogDatabase('catalog_test_admin_writes');
  catalog = await startTestCatalog({ databaseUrl: database.url, env: { ADMIN_TOKENS: `${pim.entry},${erp.entry}` } });
});
afterAll(async () => {
  await catalog?.close();
  await dropDatabase(database.name);
});

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function admin(method: Method, url: string, payload?: object, headers: Record<string, string> = {}) {
  return catalog.app.inject({ method, url, payload, headers: { authorization: pim.authorization, ...headers } });
}

const pool = () => catalog.database.primary;

async function product(id: number): Promise<AdminProduct> {
  const response = await admin('GET', `/admin/products/${id}`);
  expect(response.statusCode).toBe(200);
  return response.json<AdminProduct>();
}

const placement = (item: AdminProduct, categories: { id: number; slug: string }[], listed = true) => ({
  id: item.id,
  slug: item.slug,
  categories,
  brand: item.brand && { id: item.brand.id, slug: item.brand.slug },
  listed,
});

const FOOTWEAR = { id: 3, slug: 'footwear' };

describe('when a product is created', () => {
  it('then it answers 201 with Location and ETag, and commits one created event', async () => {
    const mark = await lastChangeId(pool());
    const response = await admin('POST', '/admin/products', {
      name: 'Trail Runner Léger',
      category: 'footwear',
      brand: 'alisha',
      attributes: { colour: 'blue' },
      images: ['https://img.example/1.jpg'],
      rating: 4.5,
      variants: [
        { sku: 'TRAIL-42', options: { size: '42' }, price: 499900, compareAtPrice: 599900, currency: 'INR', stock: 7 },
        { sku: 'TRAIL-43', options: { size: '43' }, price: 509900, currency: 'INR', stock: 0 },
      ],
    });
    expect(response.statusCode).toBe(201);
    const created = response.json<AdminProduct>();
    expect(response.headers.location).toBe(`/admin/products/${created.id}`);
    expect(response.headers.etag).toBe(`"${created.version}"`);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(created).toMatchObject({ slug: 'trail-runner-leger', status: 'active', category: { slug: 'footwear' }, brand: { slug: 'alisha' }, rating: 4.5 });
    expect(created.externalId).toMatch(/^admin-[0-9a-f-]{36}$/);
    expect(created.variants.map((variant) => [variant.sku, variant.price, variant.compareAtPrice, variant.stock])).toEqual([
      ['TRAIL-42', 499900, 599900, 7],
      ['TRAIL-43', 509900, null, 0],
    ]);
    expect(await product(created.id)).toEqual(created);

    const events = await changesAfter(pool(), mark);
    expect(events).toEqual([
      expect.objectContaining({ productId: created.id, version: created.version, rowVersion: created.version, kind: 'created', before: null, actor: 'admin:pim' }),
    ]);
    expect(events[0]?.after).toEqual(placement(created, [FOOTWEAR]));
  });

  it('then a slug made from a name already taken gets a number', async () => {
    const first = await admin('POST', '/admin/products', { name: 'Twin Kettle', category: 5 });
    const second = await admin('POST', '/admin/products', { name: 'Twin Kettle', category: 'uncategorised' });
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect([first.json<AdminProduct>().slug, second.json<AdminProduct>().slug]).toEqual(['twin-kettle', 'twin-kettle-2']);
  });
});

describe('when a product is replaced', () => {
  it('then fields and the variant set are replaced, and one event names what changed with the old placement', async () => {
    const before = await product(2);
    // The sofa bed sits under Furniture > Living Room Furniture: its placement names every ancestor.
    const { rows: oldCategories } = await pool().query<{ id: number; slug: string }>(
      `SELECT c.id, c.slug FROM categories c WHERE c.path @> (SELECT category_path FROM products WHERE id = 2) ORDER BY nlevel(c.path)`,
    );
    expect(oldCategories.at(-1)).toEqual({ id: before.category.id, slug: before.category.slug });
    const mark = await lastChangeId(pool());
    const response = await admin(
      'PUT',
      '/admin/products/2',
      {
        name: 'Sofa Bed, Renamed',
        category: 'footwear',
        brand: null,
        variants: [{ sku: 'SOFA-NEW-1', price: 1200000, currency: 'INR', stock: 2 }],
      },
      { 'if-match': `"${before.version}"` },
    );
    expect(response.statusCode).toBe(200);
    const after = response.json<AdminProduct>();
    expect(after).toMatchObject({ id: 2, slug: before.slug, externalId: before.externalId, name: 'Sofa Bed, Renamed', brand: null, description: null, attributes: {}, images: [] });
    expect(after.variants.map((variant) => variant.sku)).toEqual(['SOFA-NEW-1']);
    expect(response.headers.etag).toBe(`"${after.version}"`);
    const { rows } = await pool().query('SELECT 1 FROM variants WHERE sku = $1', [before.variants[0]?.sku]);
    expect(rows).toEqual([]);

    const events = await changesAfter(pool(), mark);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ productId: 2, version: after.version, kind: 'updated', actor: 'admin:pim' });
    const cleared = {
      description: before.description !== null,
      brand: before.brand !== null,
      category: true,
      attributes: Object.keys(before.attributes).length > 0,
      images: before.images.length > 0,
      rating: before.rating !== null,
    };
    expect(events[0]?.changed).toEqual(['name', ...Object.keys(cleared).filter((field) => cleared[field as keyof typeof cleared]), 'variants']);
    expect(events[0]?.before).toEqual(placement(before, oldCategories));
    expect(events[0]?.after).toEqual(placement(after, [FOOTWEAR]));
  });

  it('then replacing with the same content changes nothing and commits no event', async () => {
    const current = await product(2);
    const mark = await lastChangeId(pool());
    const { id: _id, externalId: _e, version: _v, createdAt: _c, updatedAt: _u, status, category, brand, variants, ...fields } = current;
    const response = await admin('PUT', '/admin/products/2', {
      ...fields,
      status,
      category: category.id,
      brand: brand?.slug ?? null,
      variants: variants.map(({ id: _variant, ...variant }) => variant),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json<AdminProduct>().version).toBe(current.version);
    expect(await changesAfter(pool(), mark)).toEqual([]);
  });
});

describe('when a product is patched', () => {
  it('then a slug rename, category move and brand change name the old slug and category', async () => {
    const before = await product(1);
    const mark = await lastChangeId(pool());
    const response = await admin('PATCH', '/admin/products/1', { slug: 'cycling-shorts-renamed', category: 'footwear', brand: 'aw' });
    expect(response.statusCode).toBe(200);
    const after = response.json<AdminProduct>();
    expect(after).toMatchObject({ slug: 'cycling-shorts-renamed', category: { slug: 'footwear' }, brand: { slug: 'aw' }, name: before.name });
    const [event, ...more] = await changesAfter(pool(), mark);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ kind: 'updated', changed: ['slug', 'brand', 'category'], version: after.version });
    expect(event?.before?.slug).toBe(before.slug);
    expect(event?.before?.categories.at(-1)).toEqual({ id: before.category.id, slug: before.category.slug });
    expect(event?.after).toEqual(placement(after, [FOOTWEAR]));
  });

  it('then a status change to draft takes the product out of listings', async () => {
    const mark = await lastChangeId(pool());
    const response = await admin('PATCH', '/admin/products/1', { status: 'draft' });
    expect(response.json<AdminProduct>().status).toBe('draft');
    const [event] = await changesAfter(pool(), mark);
    expect(event).toMatchObject({ kind: 'updated', changed: ['status'], before: { listed: true }, after: { listed: false } });
  });
});

describe('when a product is deleted', () => {
  it('then it is archived, its rows stay, and the event says archived', async () => {
    const mark = await lastChangeId(pool());
    const response = await admin('DELETE', '/admin/products/3');
    expect(response.statusCode).toBe(200);
    const archived = response.json<AdminProduct>();
    expect(archived.status).toBe('archived');
    expect(archived.variants).toHaveLength(1);
    const [event, ...more] = await changesAfter(pool(), mark);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ productId: 3, kind: 'archived', changed: ['status'], after: { listed: false }, version: archived.version });
    expect((await catalog.app.inject('/products/3')).statusCode).toBe(404);

    // Archiving again changes nothing.
    const again = await admin('DELETE', '/admin/products/3');
    expect(again.json<AdminProduct>().version).toBe(archived.version);
    expect(await changesAfter(pool(), mark)).toHaveLength(1);
  });
});

describe("when a variant's price and stock are set by SKU", () => {
  it('then one event names price and stock, and the answer is its product with the new version', async () => {
    const before = await product(4);
    const sku = before.variants[0]?.sku as string;
    const mark = await lastChangeId(pool());
    const response = await admin('PATCH', `/admin/variants/${sku}`, { price: 12345, stock: 9 }, { 'if-match': `"${before.version}"` });
    expect(response.statusCode).toBe(200);
    const after = response.json<AdminProduct>();
    expect(after.variants[0]).toMatchObject({ sku, price: 12345, stock: 9, compareAtPrice: before.variants[0]?.compareAtPrice });
    expect(response.headers.etag).toBe(`"${after.version}"`);
    expect(after.version).toBeGreaterThan(before.version);
    const events = await changesAfter(pool(), mark);
    expect(events).toEqual([expect.objectContaining({ productId: 4, kind: 'updated', changed: ['price', 'stock'], version: after.version })]);
  });
});

describe('when prices and stock are set in bulk', () => {
  it('then 1,000 SKUs are applied in one transaction with one event per product touched', async () => {
    const { rows } = await pool().query<{ sku: string; product_id: number; price_minor: number }>(
      `SELECT sku, product_id, price_minor FROM variants WHERE product_id BETWEEN 100 AND 5000 ORDER BY id LIMIT 1000`,
    );
    const mark = await lastChangeId(pool());
    const items = rows.map((row, index) => (index % 2 === 0 ? { sku: row.sku, price: row.price_minor + 100 } : { sku: row.sku, stock: 1000 + index, compareAtPrice: null }));
    const response = await admin('POST', '/admin/variants/bulk', { items });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const result = response.json<{ items: { sku: string; productId: number; version: number }[]; productsChanged: number }>();
    expect(result.productsChanged).toBe(1000);
    expect(result.items.map((item) => item.sku)).toEqual(rows.map((row) => row.sku));
    const events = await changesAfter(pool(), mark);
    expect(events).toHaveLength(1000);
    expect(new Set(events.map((event) => event.productId)).size).toBe(1000);
    expect(events.every((event) => event.actor === 'admin:pim' && event.kind === 'updated')).toBe(true);
    expect(events[0]?.changed).toEqual(['price']);
    const stored = await pool().query<{ price_minor: number }>('SELECT price_minor FROM variants WHERE sku = $1', [rows[0]?.sku]);
    expect(stored.rows[0]?.price_minor).toBe((rows[0]?.price_minor as number) + 100);
    const versions = await pool().query<{ id: number; version: number }>('SELECT id, version FROM products WHERE id = ANY($1)', [events.map((event) => event.productId)]);
    expect(new Map(versions.rows.map((row) => [row.id, row.version]))).toEqual(new Map(events.map((event) => [event.productId, event.version])));
  });

  it('then two SKUs of one product make one event for it', async () => {
    const created = (await admin('POST', '/admin/products', { name: 'Pair Socks', category: 'clothing', variants: [
      { sku: 'SOCK-S', price: 100, currency: 'INR', stock: 1 },
      { sku: 'SOCK-M', price: 100, currency: 'INR', stock: 1 },
    ] })).json<AdminProduct>();
    const mark = await lastChangeId(pool());
    const response = await admin('POST', '/admin/variants/bulk', { items: [{ sku: 'SOCK-S', price: 150 }, { sku: 'SOCK-M', stock: 0 }] });
    expect(response.json()).toEqual({ items: [{ sku: 'SOCK-S', productId: created.id, version: expect.any(Number) }, { sku: 'SOCK-M', productId: created.id, version: expect.any(Number) }], productsChanged: 1 });
    const events = await changesAfter(pool(), mark);
    expect(events).toEqual([expect.objectContaining({ productId: created.id, changed: ['price', 'stock'] })]);
  });
});

describe('when a write names the version it read (If-Match)', () => {
  it('then a stale version is 412 and the current one (or *) writes', async () => {
    const current = await product(5);
    const stale = await admin('PATCH', '/admin/products/5', { name: 'Stale Write' }, { 'if-match': `"${current.version - 1}"` });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toMatchObject({ type: '/problems/version-mismatch', status: 412 });
    expect((await product(5)).name).toBe(current.name);
    const weak = await admin('PATCH', '/admin/products/5', { name: 'Weak Tag' }, { 'if-match': `W/"${current.version}"` });
    expect(weak.statusCode).toBe(412);
    const fresh = await admin('PATCH', '/admin/products/5', { name: 'Fresh Write' }, { 'if-match': `"1", "${current.version}"` });
    expect(fresh.statusCode).toBe(200);
    const any = await admin('PATCH', '/admin/products/5', { name: 'Any Write' }, { 'if-match': '*' });
    expect(any.statusCode).toBe(200);
    for (const [method, url] of [['DELETE', '/admin/products/5'], ['PUT', '/admin/products/5'], ['PATCH', `/admin/variants/${current.variants[0]?.sku}`]] as const) {
      const body = method === 'PUT' ? { name: 'x', category: 1, variants: [] } : method === 'PATCH' ? { stock: 1 } : undefined;
      const refused = await admin(method, url, body, { 'if-match': `"${current.version}"` });
      expect(refused.statusCode, `${method} ${url}`).toBe(412);
    }
    expect((await product(5)).name).toBe('Any Write');
  });

  it('then the version is checked on the locked row: a write committed while it waited makes it 412', async () => {
    const current = await product(6);
    const other = await pool().connect();
    try {
      await other.query('BEGIN');
      await other.query("UPDATE products SET name = 'Written meanwhile' WHERE id = 6");
      const waiting = admin('PATCH', '/admin/products/6', { name: 'Read before' }, { 'if-match': `"${current.version}"` });
      // The PATCH is blocked on the row lock until the other transaction commits.
      await waitUntil(async () => (await pool().query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF p%'")).rowCount === 1);
      await other.query('COMMIT');
      const response = await waiting;
      expect(response.statusCode).toBe(412);
    } finally {
      other.release();
    }
    expect((await product(6)).name).toBe('Written meanwhile');
  });
});

describe('when a POST carries an Idempotency-Key', () => {
  const body = { name: 'Idempotent Lamp', category: 'furniture', variants: [{ sku: 'LAMP-1', price: 2500, currency: 'INR', stock: 3 }] };

  it('then a retry gets the first answer, and nothing is written twice', async () => {
    const mark = await lastChangeId(pool());
    const first = await admin('POST', '/admin/products', body, { 'idempotency-key': 'lamp-1' });
    const retry = await admin('POST', '/admin/products', body, { 'idempotency-key': 'lamp-1' });
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect([retry.headers.location, retry.headers.etag, retry.headers['idempotent-replayed']]).toEqual([first.headers.location, first.headers.etag, 'true']);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await changesAfter(pool(), mark)).toHaveLength(1);
    const { rows } = await pool().query("SELECT id FROM products WHERE name = 'Idempotent Lamp'");
    expect(rows).toHaveLength(1);
  });

  it('then the same key with another body is refused and changes nothing', async () => {
    const mark = await lastChangeId(pool());
    const other = await admin('POST', '/admin/products', { ...body, name: 'Another Lamp' }, { 'idempotency-key': 'lamp-1' });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ type: '/problems/idempotency-key-reused', errors: [{ in: 'headers', name: 'idempotency-key' }] });
    expect(await changesAfter(pool(), mark)).toEqual([]);
  });

  it("then another token's key of the same name is its own", async () => {
    const response = await catalog.app.inject({
      method: 'POST',
      url: '/admin/products',
      payload: { ...body, variants: [{ ...body.variants[0], sku: 'LAMP-ERP' }] },
      headers: { authorization: erp.authorization, 'idempotency-key': 'lamp-1' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
  });

  it('then concurrent duplicates create one product, and each gets its answer', async () => {
    const mark = await lastChangeId(pool());
    const racing = { ...body, name: 'Racing Lamp', variants: [{ ...body.variants[0], sku: 'LAMP-RACE' }] };
    const answers = await Promise.all(Array.from({ length: 6 }, () => admin('POST', '/admin/products', racing, { 'idempotency-key': 'race-1' })));
    expect(answers.map((answer) => answer.statusCode)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(new Set(answers.map((answer) => answer.json<AdminProduct>().id)).size).toBe(1);
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await changesAfter(pool(), mark)).toHaveLength(1);
  });

  it('then a bulk update retried is applied once', async () => {
    const mark = await lastChangeId(pool());
    const items = { items: [{ sku: 'LAMP-1', stock: 40 }] };
    const first = await admin('POST', '/admin/variants/bulk', items, { 'idempotency-key': 'bulk-1' });
    await admin('PATCH', '/admin/variants/LAMP-1', { stock: 1 });
    const retry = await admin('POST', '/admin/variants/bulk', items, { 'idempotency-key': 'bulk-1' });
    expect(retry.body).toBe(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    // The retry did not set the stock back to 40 over the later write.
    expect((await pool().query("SELECT stock FROM variants WHERE sku = 'LAMP-1'")).rows[0]).toEqual({ stock: 1 });
    expect(await changesAfter(pool(), mark)).toHaveLength(2);
  });

  it('then a key older than ADMIN_IDEMPOTENCY_TTL_MS is forgotten: claimed again, and pruned', async () => {
    await pool().query("UPDATE admin_idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'lamp-1' AND token_name = 'pim'");
    const again = await admin('POST', '/admin/products', body, { 'idempotency-key': 'lamp-1' });
    expect(again.statusCode).toBe(409); // a new attempt: LAMP-1 is taken, by the first one
    await pool().query("INSERT INTO admin_idempotency_keys (token_name, key, request_hash, status, created_at) VALUES ('old', 'k', 'h', 201, now() - interval '2 days')");
    // A store of its own: the first keyed write of a store prunes.
    const store = createProductAdminStore({ pool: pool(), idempotencyTtlMs: 86_400_000 });
    await store.createProduct({ name: 'Pruning Lamp', category: 1 }, { tokenName: 'pim', idempotency: { key: 'prune-1', fingerprint: 'f' } }, () => ({ status: 201, headers: {}, body: null }));
    expect((await pool().query("SELECT 1 FROM admin_idempotency_keys WHERE token_name = 'old'")).rows).toEqual([]);
  });
});

describe('when an admin product is read', () => {
  it('then it comes from the primary, uncached, and only with a token', async () => {
    const first = await product(7);
    await pool().query("UPDATE products SET name = 'Changed Behind The API' WHERE id = 7");
    const second = await product(7);
    expect(second.name).toBe('Changed Behind The API');
    expect(second.version).toBe(first.version + 1);
    const anonymous = await catalog.app.inject('/admin/products/7');
    expect(anonymous.statusCode).toBe(401);
  });

  it('then a draft or archived product is shown too, and an unknown id is 404', async () => {
    expect((await product(13)).status).toBe('draft');
    expect((await product(3)).status).toBe('archived');
    expect((await admin('GET', '/admin/products/999999999')).statusCode).toBe(404);
  });
});

async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition never held');
}

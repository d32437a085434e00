import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOpenApiDocument } from '../../src/api/openapi-document.ts';
import { mintToken } from '../support/admin-api.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const committed = await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8');
const document = parse(committed) as Document;

// Read-only: this file shares the catalog_test database, which no test may write.
const reader = mintToken('openapi-reader', 'read');

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog({ env: { ADMIN_TOKENS: reader.entry } });
});
afterAll(() => catalog.close());

describe('when openapi.yaml is compared with the server', () => {
  it('then the committed document is exactly what the route schemas generate (run `npm run openapi` after changing a route)', async () => {
    expect(committed).toBe(await renderOpenApiDocument());
  });

  it('then every documented operation is served', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        expect(catalog.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`).toBe(true);
      }
    }
  });

  // Real responses, success and failure, each checked against the documented status, media type and schema.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...document, $id: 'openapi' });

  function expectDocumented(method: string, path: string, response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) {
    const operation = document.paths[path]?.[method];
    const documented = operation?.responses[String(response.statusCode)];
    expect(documented, `status ${response.statusCode} of ${method.toUpperCase()} ${path} is documented`).toBeDefined();
    const mediaType = String(response.headers['content-type']).split(';')[0] as string;
    const content = documented?.content?.[mediaType];
    expect(content, `${mediaType} is documented for ${response.statusCode}`).toBeDefined();
    const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/${response.statusCode}/content/${mediaType.replace(/\//g, '~1')}/schema`;
    const validate = ajv.getSchema(pointer);
    expect(validate, pointer).toBeDefined();
    expect(validate?.(response.json()), JSON.stringify(validate?.errors)).toBe(true);
  }

  it.each([
    ['/products', '/products?sort=price_asc&limit=3'],
    ['/products', '/products?category=footwear&brand=999999'],
    ['/products', '/products?limit=1000'],
    ['/products', '/products?category=footwear&attr.Ideal%20For=Women&attr.Color=Black&attr.Color=White&facets=attributes&limit=3'],
    ['/products', '/products?attr.Color=Black&facets=category'],
    ['/products/{idOrSlug}', '/products/1'],
    ['/products/{idOrSlug}', '/products/999999999'],
    ['/products/{idOrSlug}', '/products/NOT_A_SLUG'],
    ['/products/{idOrSlug}/related', '/products/1/related?limit=3'],
    ['/products/{idOrSlug}/related', '/products/999999999/related'],
    ['/products/search', '/products/search?q=samsng%20mobile&limit=3'],
    ['/products/search', '/products/search?q=shirt&category=clothing&inStock=true&attr.Fabric=Cotton&sort=price_asc&limit=2'],
    ['/products/search', '/products/search?q=zzqxjv%20wwkkpq'],
    ['/products/search', '/products/search?q=shirt&facets=colour'],
    ['/products/search', '/products/search?q=shirt&category=no-such-category'],
    ['/products/search', '/products/search?q=%20%20'],
    ['/products/suggest', '/products/suggest?q=sams'],
    ['/products/suggest', '/products/suggest?q=sams&limit=11'],
    ['/categories', '/categories'],
    ['/health/live', '/health/live'],
    ['/health/ready', '/health/ready'],
  ])('then %s answers %s as documented', async (path, url) => {
    expectDocumented('get', path, await catalog.app.inject(url));
  });

  // The admin API with a read-only token: its answers, and its refusals of writes, as documented.
  it.each<[string, string, string, object | undefined, boolean]>([
    ['get', '/admin/products/{id}', '/admin/products/1', undefined, true],
    ['get', '/admin/products/{id}', '/admin/products/999999999', undefined, true],
    ['get', '/admin/products/{id}', '/admin/products/abc', undefined, true],
    ['get', '/admin/products/{id}', '/admin/products/1', undefined, false],
    ['post', '/admin/products', '/admin/products', { name: 'x', category: 1 }, true],
    ['put', '/admin/products/{id}', '/admin/products/1', { name: 'x', category: 1, variants: [] }, true],
    ['patch', '/admin/products/{id}', '/admin/products/1', { name: 'x' }, false],
    ['delete', '/admin/products/{id}', '/admin/products/1', undefined, true],
    ['patch', '/admin/variants/{sku}', '/admin/variants/ABC', { stock: 1 }, true],
    ['post', '/admin/variants/bulk', '/admin/variants/bulk', { items: [{ sku: 'ABC', stock: 1 }] }, true],
  ])('then %s %s answers %s as documented', async (method, path, url, payload, authenticated) => {
    const headers = authenticated ? { authorization: reader.authorization } : {};
    expectDocumented(method, path, await catalog.app.inject({ method: method.toUpperCase() as 'GET', url, payload, headers }));
  });

  it.each([
    ['/products', '/products?limit=2', 200],
    ['/products/{idOrSlug}', '/products/1', 200],
    ['/products/{idOrSlug}', '/products/999999999', 404],
    ['/products/{idOrSlug}/related', '/products/1/related', 200],
    ['/products/search', '/products/search?q=shirt', 200],
    ['/products/suggest', '/products/suggest?q=sh', 200],
    ['/categories', '/categories', 200],
    ['/health/live', '/health/live', 200],
    ['/metrics', '/metrics', 200],
  ])('then HEAD %s answers %s with a documented status and no body', async (path, url, status) => {
    const response = await catalog.app.inject({ method: 'HEAD', url });
    expect(response.statusCode).toBe(status);
    expect(response.body).toBe('');
    const documented = document.paths[path]?.head?.responses[String(status)];
    expect(documented, `status ${status} of HEAD ${path} is documented`).toBeDefined();
    expect(documented?.content, 'a HEAD answer has no body').toBeUndefined();
  });
});

import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOpenApiDocument } from '../../src/api/openapi-document.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const committed = await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8');
const document = parse(committed) as Document;

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
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

  it.each([
    ['/products', '/products?sort=price_asc&limit=3'],
    ['/products', '/products?category=footwear&brand=999999'],
    ['/products', '/products?limit=1000'],
    ['/products/{idOrSlug}', '/products/1'],
    ['/products/{idOrSlug}', '/products/999999999'],
    ['/products/{idOrSlug}', '/products/NOT_A_SLUG'],
    ['/products/{idOrSlug}/related', '/products/1/related?limit=3'],
    ['/products/{idOrSlug}/related', '/products/999999999/related'],
    ['/categories', '/categories'],
    ['/health/live', '/health/live'],
    ['/health/ready', '/health/ready'],
  ])('then %s answers %s as documented', async (path, url) => {
    const response = await catalog.app.inject(url);
    const operation = document.paths[path]?.get;
    const documented = operation?.responses[String(response.statusCode)];
    expect(documented, `status ${response.statusCode} of GET ${path} is documented`).toBeDefined();
    const mediaType = String(response.headers['content-type']).split(';')[0] as string;
    const content = documented?.content?.[mediaType];
    expect(content, `${mediaType} is documented for ${response.statusCode}`).toBeDefined();
    const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/get/responses/${response.statusCode}/content/${mediaType.replace(/\//g, '~1')}/schema`;
    const validate = ajv.getSchema(pointer);
    expect(validate, pointer).toBeDefined();
    expect(validate?.(response.json()), JSON.stringify(validate?.errors)).toBe(true);
  });

  it.each([
    ['/products', '/products?limit=2', 200],
    ['/products/{idOrSlug}', '/products/1', 200],
    ['/products/{idOrSlug}', '/products/999999999', 404],
    ['/products/{idOrSlug}/related', '/products/1/related', 200],
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

// A storefront generates its client from openapi.yaml, as a new user would: types from
// openapi-typescript, calls through openapi-fetch. The client below calls every operation with only
// the parameters it needs and must type-check; a parameter the server defaults (sort, limit) that
// the document marked required made `GET /products` without it a type error.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const STOREFRONT = `
import createClient from 'openapi-fetch';
import type { paths } from './catalog-api';

const catalog = createClient<paths>({ baseUrl: 'https://catalog.example' });

export async function storefront(slug: string, cursor?: string) {
  const newest = await catalog.GET('/products');
  const shoes = await catalog.GET('/products', { params: { query: { category: 'footwear', sort: 'price_asc', cursor } } });
  const page = await catalog.GET('/products/{idOrSlug}', { params: { path: { idOrSlug: slug } } });
  const related = await catalog.GET('/products/{idOrSlug}/related', { params: { path: { idOrSlug: slug } } });
  const tree = await catalog.GET('/categories');
  const found = await catalog.GET('/products/search', { params: { query: { q: 'nike runing shoe', inStock: true, sort: 'relevance', cursor } } });
  const typed = await catalog.GET('/products/suggest', { params: { query: { q: 'sams' } } });
  const live = await catalog.GET('/health/live');
  const ready = await catalog.GET('/health/ready');
  const metrics = await catalog.GET('/metrics');
  const probes = await Promise.all([
    catalog.HEAD('/products'),
    catalog.HEAD('/products/{idOrSlug}', { params: { path: { idOrSlug: slug } } }),
    catalog.HEAD('/products/{idOrSlug}/related', { params: { path: { idOrSlug: slug } } }),
    catalog.HEAD('/categories'),
    catalog.HEAD('/products/search', { params: { query: { q: 'shoe' } } }),
    catalog.HEAD('/products/suggest', { params: { query: { q: 'sh' } } }),
    catalog.HEAD('/health/live'),
    catalog.HEAD('/health/ready'),
    catalog.HEAD('/metrics'),
  ]);
  const cheapest: number | undefined = shoes.data?.items[0]?.price.min;
  const next: string | null | undefined = newest.data?.nextCursor;
  const sizes: string[] | undefined = page.data?.variants.map((variant) => variant.sku);
  const alike: number | undefined = related.data?.items.length;
  const departments: number | undefined = tree.data?.categories.length;
  const degraded: boolean | undefined = found.data?.degraded;
  const brands: number | undefined = found.data?.facets.brand?.length;
  const spelling: string | null | undefined = found.data?.didYouMean;
  const completions: string[] | undefined = typed.data?.suggestions.map((suggestion) => suggestion.text);
  const up: boolean = live.response.ok && ready.data?.status === 'ready' && typeof metrics.data === 'string';
  return { cheapest, next, sizes, alike, departments, degraded, brands, spelling, completions, up, probed: probes.map((probe) => probe.response.status) };
}

// A PIM writing through the admin API (its bearer token goes in the client's headers).
export async function pim(id: string, sku: string) {
  const created = await catalog.POST('/admin/products', { body: { name: 'Desk Lamp', category: 'furniture' } });
  const read = await catalog.GET('/admin/products/{id}', { params: { path: { id } } });
  const probed = await catalog.HEAD('/admin/products/{id}', { params: { path: { id } } });
  const replaced = await catalog.PUT('/admin/products/{id}', { params: { path: { id } }, body: { name: 'Desk Lamp', category: 3, variants: [] } });
  const renamed = await catalog.PATCH('/admin/products/{id}', { params: { path: { id } }, body: { slug: 'desk-lamp-2' } });
  const archived = await catalog.DELETE('/admin/products/{id}', { params: { path: { id } } });
  const priced = await catalog.PATCH('/admin/variants/{sku}', { params: { path: { sku } }, body: { price: 49900 } });
  const bulk = await catalog.POST('/admin/variants/bulk', { body: { items: [{ sku, stock: 0 }] } });
  const versions: (number | undefined)[] = [created.data?.version, read.data?.version, replaced.data?.version, renamed.data?.version, archived.data?.version, priced.data?.version];
  const changed: number | undefined = bulk.data?.productsChanged;
  return { versions, changed, probed: probed.response.status };
}
`;

const documentUrl = new URL('../../openapi.yaml', import.meta.url);
const openapiFetch = fileURLToPath(new URL('../../node_modules/openapi-fetch', import.meta.url));
let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'storefront-client-'));
  await writeFile(join(workspace, 'storefront.ts'), STOREFRONT);
});
afterAll(() => rm(workspace, { recursive: true, force: true }));

/** Generates the client's types from `document` and type-checks the storefront; the errors found. */
async function typeCheck(document: string): Promise<string[]> {
  await writeFile(join(workspace, 'catalog-api.ts'), astToString(await openapiTS(document)));
  const program = ts.createProgram([join(workspace, 'storefront.ts')], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
    // The workspace sits outside the repository; openapi-fetch is the repository's devDependency.
    paths: { 'openapi-fetch': [openapiFetch] },
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

// Generating the types and compiling takes seconds, more on a busy machine than vitest's default 5 s.
describe('when a storefront generates its client from openapi.yaml', { timeout: 60_000 }, () => {
  it('then a client calling every operation with only the parameters it needs type-checks', async () => {
    const document = await readFile(documentUrl, 'utf8');
    const paths = (parse(document) as { paths: Record<string, Record<string, unknown>> }).paths;
    for (const [path, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations)) expect(STOREFRONT, `the storefront calls ${method} ${path}`).toContain(`catalog.${method.toUpperCase()}('${path}'`);
    }
    expect(await typeCheck(document)).toEqual([]);
  });

  it('then the check has teeth: were a defaulted parameter required, `GET /products` without it would not compile', async () => {
    const document = parse(await readFile(documentUrl, 'utf8')) as { paths: Record<string, { get: { parameters: { name: string; required: boolean }[] } }> };
    const limit = document.paths['/products']?.get.parameters.find((parameter) => parameter.name === 'limit');
    if (limit) limit.required = true;
    const errors = await typeCheck(stringify(document));
    expect(errors.join('\n')).toMatch(/limit/);
  });
});

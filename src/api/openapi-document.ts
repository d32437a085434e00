// openapi.yaml is generated from the route schemas, the same ones that validate requests and
// serialize responses, so the document cannot drift from what the server does (a test checks).
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createCatalogCache } from '../cache/catalog-cache.ts';
import { loadConfig } from '../config.ts';
import type { ProductAdminStore } from '../store/product-admin-store.ts';
import type { ProductRepository } from '../store/product-repository.ts';
import { buildApp } from './app.ts';

export async function renderOpenApiDocument(): Promise<string> {
  const unused = () => Promise.reject(new Error('the OpenAPI document needs no data'));
  const repository: ProductRepository = {
    resolveFilters: unused,
    listProducts: unused,
    estimateListed: unused,
    countAttributeValues: unused,
    countBrands: unused,
    countPriceBuckets: unused,
    findProductPage: unused,
    findRelated: unused,
    findRelatedScope: unused,
    listCategories: unused,
  };
  const store: ProductAdminStore = {
    findProduct: unused,
    createProduct: unused,
    replaceProduct: unused,
    patchProduct: unused,
    archiveProduct: unused,
    updateVariant: unused,
    updateVariants: unused,
  };
  // Without Redis and never read: the schema version names no key.
  const config = loadConfig({});
  const cache = createCatalogCache({ settings: config.cache, schemaVersion: 0 });
  const app = await buildApp({
    log: pino({ level: 'silent' }),
    repository,
    readiness: { check: unused },
    cache,
    httpCache: cache.freshness,
    hotUrlsMaxBytes: 0,
    metrics: new Registry(),
    // The defaults: what a client may meet (429, 503) is documented whatever is configured.
    edge: { http: config.http, pressure: config.pressure, rateLimit: config.rateLimit, keyPrefix: config.cache.keyPrefix },
    admin: { store, tokens: [] },
    search: { search: unused, suggest: unused, onRecovered: () => undefined, shutdown: () => undefined },
  });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  await cache.close();
  return yaml;
}

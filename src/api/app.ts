// buildApp(deps): the Fastify application with its dependencies handed in, so the server, the
// tests and the OpenAPI writer all build the same thing.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CatalogCache } from '../cache/catalog-cache.ts';
import { observeRequestDurations } from '../observability/metrics.ts';
import type { ProductRepository } from '../store/product-repository.ts';
import { replyFromNearCache, type CachedReads, type HttpCachePolicy } from './cached-reply.ts';
import { createHotUrls } from './hot-urls.ts';
import { registerProblemHandlers, sendFrameworkProblem } from './problem-handler.ts';
import { categoryRoutes } from './routes/categories.ts';
import { healthRoutes, type Readiness } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { productRoutes } from './routes/products.ts';
import { CategoryNode } from './schemas/category.ts';

export interface AppDependencies {
  log: Logger;
  repository: ProductRepository;
  readiness: Readiness;
  cache: CatalogCache;
  httpCache: HttpCachePolicy;
  metrics: Registry;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDependencies) {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // A caller's x-request-id is kept when it is safe to log; otherwise one is made up.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Every route is in openapi.yaml; implicit HEAD routes would not be.
    exposeHeadRoutes: false,
    frameworkErrors: sendFrameworkProblem,
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const reads: CachedReads = { cache: deps.cache, httpCache: deps.httpCache, hotUrls: createHotUrls() };
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // A fresh near-cache page for a URL seen before is sent from here (no parsing, no validation).
    if (!replyFromNearCache(request, reply, reads)) done();
  });
  registerProblemHandlers(app);
  observeRequestDurations(app, deps.metrics);
  app.addSchema(CategoryNode);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Catalog service',
        version: '0.1.0',
        description: 'Product listings, product pages, related products and the category tree for storefronts. Prices are integers in minor units (paise, cents). Errors are application/problem+json (RFC 9457).',
      },
      tags: [
        { name: 'products', description: 'Listings and product pages' },
        { name: 'categories', description: 'Navigation' },
        { name: 'operations', description: 'Probes for Kubernetes' },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`) },
  });

  await app.register(productRoutes, { repository: deps.repository, reads });
  await app.register(categoryRoutes, { repository: deps.repository, reads });
  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(metricsRoutes, { registry: deps.metrics });
  return app;
}

export type CatalogApp = Awaited<ReturnType<typeof buildApp>>;

// buildApp(deps): the Fastify application with its dependencies handed in, so the server, the
// tests and the OpenAPI writer all build the same thing.
import { createServer } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type onRequestHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CatalogCache } from '../cache/catalog-cache.ts';
import { createRequestDurations, registerHotPathAnswers } from '../observability/metrics.ts';
import type { AdminToken } from '../config.ts';
import type { ProductAdminStore } from '../store/product-admin-store.ts';
import type { ProductRepository } from '../store/product-repository.ts';
import type { ProductSearch } from '../search/product-search.ts';
import type { CachedReads, HttpCachePolicy } from './cached-reply.ts';
import { trustProxyHops } from './edge/client-address.ts';
import { registerHttpEdge, type EdgeSettings } from './edge/http-edge.ts';
import { createUrlLengthCheck } from './edge/url-length.ts';
import { createHotPath } from './hot-path.ts';
import { createHotPathContract, type HotPathContract } from './hot-path-contract.ts';
import { createHotUrls } from './hot-urls.ts';
import { requireDecimalIntegers } from './integer-parameters.ts';
import { documentOperation } from './openapi-operations.ts';
import { registerProblemHandlers, sendFrameworkProblem } from './problem-handler.ts';
import { CompletionLogController, createRequestCompletion } from './request-completion.ts';
import { adminProductRoutes } from './routes/admin-products.ts';
import { categoryRoutes } from './routes/categories.ts';
import { healthRoutes, type Readiness } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { productRoutes } from './routes/products.ts';
import { searchRoutes } from './routes/search.ts';
import { requestIdFor } from './request-id.ts';
import { CategoryNode } from '../catalog/category-tree.ts';
import { AdminProduct } from '../catalog/product-admin.ts';
import { Problem } from './schemas/problem.ts';

export interface AppDependencies {
  log: Logger;
  repository: ProductRepository;
  readiness: Readiness;
  cache: CatalogCache;
  httpCache: HttpCachePolicy;
  /** Bound of the hot path's URL table (config CACHE_HOT_URLS_MAX_BYTES); 0 turns the hot path off. */
  hotUrlsMaxBytes: number;
  metrics: Registry;
  /** Bounds, CORS, load shedding and rate limits (api/edge/), from config.http, .pressure and .rateLimit. */
  edge: EdgeSettings;
  /** The read path's Redis client: rate-limit counts are shared through it; absent, kept per pod. */
  redis?: Redis | undefined;
  /** /products/search and /products/suggest; absent: not served. */
  search?: ProductSearch | undefined;
  /** The admin API (/admin): its writes on the primary and the tokens it accepts. Absent: not served. */
  admin?: AdminDependencies | undefined;
}

export interface AdminDependencies {
  store: ProductAdminStore;
  /** config.admin.tokens; empty: every admin request is a 401. */
  tokens: readonly AdminToken[];
}

export interface AppOptions {
  /**
   * Registers what every answer must carry or pass (security headers, CORS, rate limits), before the
   * routes, with its hot-path counterpart declared on `hotPath` (docs/caching.md). Tests use it too.
   */
  concerns?: (app: FastifyInstance, hotPath: HotPathContract) => Promise<void> | void;
}

// Fastify's default, which it sets only on servers it creates itself; this one comes from serverFactory.
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export async function buildApp(deps: AppDependencies, options: AppOptions = {}) {
  const contract = createHotPathContract(deps.log);
  const reads: CachedReads = { cache: deps.cache, httpCache: deps.httpCache, hotUrls: createHotUrls(deps.hotUrlsMaxBytes, deps.metrics), hotPath: contract };
  const completion = createRequestCompletion(createRequestDurations(deps.metrics), deps.log);
  registerHotPathAnswers(deps.metrics, () => contract.routes());
  const hotPath = createHotPath({ reads, contract, completion });
  const refusedForLength = createUrlLengthCheck({ maxLength: deps.edge.http.maxUrlLength, contract, completion });
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Fastify's 'request completed' line becomes the record the hot path writes too.
    logController: new CompletionLogController(completion),
    // Fresh cached pages of URLs answered before are sent before Fastify sees them (hot-path.ts).
    serverFactory: (handler) => {
      const server = createServer((request, response) => {
        if (!refusedForLength(request, response)) hotPath.serve(request, response, handler);
      });
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    },
    requestIdHeader: false,
    genReqId: (request) => requestIdFor(request.headers['x-request-id']),
    return503OnClosing: true,
    // One bound for every body, the admin routes' included (HTTP_BODY_LIMIT_BYTES).
    bodyLimit: deps.edge.http.bodyLimitBytes,
    // request.ip: the address the nearest untrusted proxy saw (rate limits, logs).
    trustProxy: trustProxyHops(deps.edge.http.trustProxyHops),
    // HEAD on every GET route, for CDNs, uptime and link checkers; documented in openapi.yaml.
    exposeHeadRoutes: true,
    frameworkErrors: sendFrameworkProblem,
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Before any route: the contract reads every route's hooks (hot-path-contract.ts).
  contract.install(app);
  // The hot path writes the same request id and concern headers itself.
  const stampAnswer: onRequestHookHandler = (request, reply, done) => {
    reply.header('x-request-id', request.id);
    contract.applyHeaders(request.raw, reply);
    done();
  };
  contract.reproduces(stampAnswer);
  app.addHook('onRequest', stampAnswer);
  app.addHook('preClose', (done) => {
    hotPath.stop();
    done();
  });
  registerProblemHandlers(app);
  requireDecimalIntegers(app, contract);
  app.addSchema(CategoryNode);
  app.addSchema(Problem);
  app.addSchema(AdminProduct);
  await registerHttpEdge(app, contract, { settings: deps.edge, redis: deps.redis, adminTokens: deps.admin?.tokens, metrics: deps.metrics });
  await options.concerns?.(app, contract);

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
        { name: 'admin', description: 'Writes: products, prices and stock. Bearer tokens from ADMIN_TOKENS; never cached' },
      ],
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'A token whose SHA-256 is in ADMIN_TOKENS (README: Admin API)' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`) },
    exposeHeadRoutes: true,
    transform: documentOperation,
  });

  if (deps.search) await app.register(searchRoutes, { listings: deps.repository, search: deps.search, reads });
  await app.register(productRoutes, { repository: deps.repository, reads });
  await app.register(categoryRoutes, { repository: deps.repository, reads });
  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(metricsRoutes, { registry: deps.metrics });
  if (deps.admin) await app.register(adminProductRoutes, deps.admin);
  return app;
}

export type CatalogApp = Awaited<ReturnType<typeof buildApp>>;

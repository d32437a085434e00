// Assembles what the read routes stand on, from configuration: the guarded repository, Redis when
// configured, the two-tier cache and the metrics registry. The server, the tests and the benchmarks
// build it the same way.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCatalogCache, type CatalogCache } from '../cache/catalog-cache.ts';
import { createRedisClient, waitForRedisReady } from '../cache/redis-client.ts';
import type { Config } from '../config.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';
import type { Database } from '../store/database.ts';
import type { PlacementSource } from '../catalog/product-invalidation.ts';
import { guardPostgres } from '../store/postgres-guard.ts';
import { preparedStatements } from '../store/prepared-statements.ts';
import { createProductRepository, type ProductRepository } from '../store/product-repository.ts';
import type { AppDependencies } from './app.ts';
import type { DependencyReport } from './routes/health.ts';

/** Bump when a cached response body changes shape, so no pod serves another release's bytes. */
export const RESPONSE_SCHEMA_VERSION = 1;

export interface ReadPath extends AppDependencies {
  /**
   * Where products sit, read from the primary: a replica that lags would name the tags of the
   * product before the change (for the change pipeline's invalidateProduct).
   */
  placements: PlacementSource;
  redis: Redis | undefined;
  close(): Promise<void>;
}

export async function createReadPath(config: Config, database: Database, log: Logger, metrics: Registry = createMetricsRegistry()): Promise<ReadPath> {
  const postgres = guardPostgres(preparedStatements(database.read), {
    timeoutMs: config.database.statementTimeoutMs + config.database.connectTimeoutMs + 500,
    registry: metrics,
  });
  const repository: ProductRepository = createProductRepository({ pool: postgres });
  const { cache: settings } = config;
  const redis = settings.redisUrl
    ? createRedisClient(settings.redisUrl, { commandTimeoutMs: settings.redisCommandTimeoutMs, connectionName: 'catalog-api', log })
    : undefined;
  // Starting without Redis is allowed (the cache falls back), but a normal start should use it at once.
  if (redis && !(await waitForRedisReady(redis, 2000))) log.warn('Redis is not reachable yet; serving from PostgreSQL until it is');
  const cache: CatalogCache = createCatalogCache({
    redis,
    keyPrefix: settings.keyPrefix,
    schemaVersion: RESPONSE_SCHEMA_VERSION,
    near: settings.near,
    freshTtlMs: settings.freshTtlMs,
    maxStaleMs: settings.maxStaleMs,
    staleIfErrorMs: settings.staleIfErrorMs,
    missTtlMs: settings.missTtlMs,
    lock: { ttlMs: settings.lockTtlMs },
    refresh: { concurrency: settings.refreshConcurrency },
    redisCommandTimeoutMs: settings.redisCommandTimeoutMs,
    log,
    metrics,
  });
  return {
    log,
    repository,
    cache,
    metrics,
    placements: createProductRepository({ pool: database.primary }),
    redis,
    httpCache: { freshTtlMs: settings.freshTtlMs, maxStaleMs: settings.maxStaleMs, staleIfErrorMs: settings.staleIfErrorMs },
    readiness: {
      // Straight to the pool and the client: readiness reports the dependencies themselves, not the
      // breakers' memory of them. A PostgreSQL outage alone does not fail it: it would take every
      // pod out of the Service at once, and the pages cached in Redis would reach no shopper.
      async check() {
        const [origin, shared] = await Promise.allSettled([database.read.query('SELECT 1'), redis?.ping()]);
        const report: DependencyReport = {
          postgres: origin.status === 'fulfilled' ? 'up' : 'down',
          redis: !redis ? 'not configured' : shared.status === 'fulfilled' ? 'up' : 'down',
        };
        if (report.postgres === 'down' && report.redis !== 'up') {
          const why = (result: PromiseSettledResult<unknown>) => (result.status === 'rejected' ? (result.reason as Error).message : 'not configured');
          throw new Error(`PostgreSQL: ${why(origin)}; Redis: ${why(shared)}`);
        }
        return report;
      },
    },
    async close() {
      await cache.close();
      await redis?.quit().catch(() => redis.disconnect());
      postgres.shutdown();
    },
  };
}

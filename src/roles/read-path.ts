// What the read routes stand on, from configuration: the guarded repository on the read pool, Redis
// when configured, the two-tier cache, readiness and the metrics registry. The api role, the tests
// and the benchmarks build it the same way.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AppDependencies } from '../api/app.ts';
import type { DependencyReport } from '../api/routes/health.ts';
import type { PlacementSource } from '../catalog/product-invalidation.ts';
import type { Config } from '../config.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';
import type { Database } from '../store/database.ts';
import { guardPostgres } from '../store/postgres-guard.ts';
import { preparedStatements } from '../store/prepared-statements.ts';
import { createPlacementSource } from '../store/product-placements.ts';
import { createProductRepository } from '../store/product-repository.ts';
import { buildCatalogCache, closeRedis, openRedis } from './dependencies.ts';

export interface ReadPath extends AppDependencies {
  /** Where products sit, read from the primary (for invalidateProduct). */
  placements: PlacementSource;
  redis: Redis | undefined;
  close(): Promise<void>;
}

export async function createReadPath(config: Config, database: Database, log: Logger, metrics: Registry = createMetricsRegistry()): Promise<ReadPath> {
  const postgres = guardPostgres(preparedStatements(database.read), {
    timeoutMs: config.database.statementTimeoutMs + config.database.connectTimeoutMs + 500,
    registry: metrics,
  });
  const settings = config.cache;
  const redis = await openRedis(settings, log, 'catalog-api');
  const cache = buildCatalogCache(settings, { redis, log, metrics });
  return {
    log,
    repository: createProductRepository({ pool: postgres }),
    cache,
    metrics,
    placements: createPlacementSource({ pool: database.primary }),
    redis,
    httpCache: cache.freshness,
    hotUrlsMaxBytes: settings.hotUrlsMaxBytes,
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
      await closeRedis(redis);
      postgres.shutdown();
    },
  };
}

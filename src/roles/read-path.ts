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
import { SEARCH_RESULTS } from '../catalog/cache-tags.ts';
import { createProductSearch } from '../search/product-search.ts';
import { buildCatalogCache, closeRedis, openRedis } from './dependencies.ts';
import { openSearchIndexes } from './search-indexes.ts';

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
  // Searches read the read model through the same guarded pool as listings; OpenSearch, when
  // configured, answers first and PostgreSQL stands in while it fails (product-search.ts).
  const indexes = await openSearchIndexes(config, postgres);
  const openSearch = config.search.openSearch;
  const search = createProductSearch({
    primary: indexes.openSearch?.engine ?? indexes.postgresEngine,
    fallback: indexes.openSearch ? indexes.postgresEngine : undefined,
    timeoutMs: openSearch?.timeoutMs ?? 0,
    resetTimeoutMs: openSearch?.breakerResetMs ?? 0,
    log,
    metrics,
  });
  // Answers cached while OpenSearch was failing came from PostgreSQL: once it answers again, they go.
  search.onRecovered(() => void cache.invalidate([SEARCH_RESULTS]).catch((error: unknown) => log.warn({ err: error }, 'degraded search answers not invalidated')));
  return {
    log,
    search,
    repository: createProductRepository({ pool: postgres }),
    cache,
    metrics,
    placements: createPlacementSource({ pool: database.primary }),
    redis,
    httpCache: cache.freshness,
    hotUrlsMaxBytes: settings.hotUrlsMaxBytes,
    edge: { http: config.http, pressure: config.pressure, rateLimit: config.rateLimit, keyPrefix: settings.keyPrefix },
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
      search.shutdown();
      await indexes.openSearch?.close();
      await cache.close();
      await closeRedis(redis);
      postgres.shutdown();
    },
  };
}

// What every role opens, built one way from the configuration: the database (with the embedded
// fallback only where the entry point allows it), Redis, the two-tier cache, and the invalidator that
// processes serving no HTTP use. The api role, the change pipeline's roles, the tests and the
// benchmarks all build their parts here.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCatalogCache, type CatalogCache } from '../cache/catalog-cache.ts';
import { createChangeInvalidation, type ChangeInvalidation, type TagInvalidator } from '../cache/change-invalidation.ts';
import { createInvalidator, replicaWaitMs, type Invalidator } from '../cache/invalidator.ts';
import { createRedisClient, waitForRedisReady } from '../cache/redis-client.ts';
import { ConfigError, type CacheConfig, type Config, type DatabaseConfig } from '../config.ts';
import { createDatabase, type Database } from '../store/database.ts';
import type { EmbeddedDatabase } from '../store/embedded-postgres.ts';
import { migrate } from '../store/migrator.ts';

/** Bump when a cached response body changes shape, so no pod serves another release's bytes. */
export const RESPONSE_SCHEMA_VERSION = 1;

/** Starts a PostgreSQL of the process's own: given only by the entry point `npm start` runs. */
export type EmbeddedDatabaseStarter = (options: { dir: string; port: number; log: Logger }) => Promise<EmbeddedDatabase>;

export interface CatalogDatabase extends Database {
  embedded: boolean;
}

/**
 * DATABASE_URL when set. Without it, the embedded PostgreSQL when the entry point allows it (a
 * developer's `npm start`), else a ConfigError: a pod must never start an empty database of its own.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: { migrate: boolean; startEmbedded?: EmbeddedDatabaseStarter | undefined },
): Promise<CatalogDatabase> {
  const settings = config.database;
  const { url, embedded } = await startDatabaseServer(config, log, options.startEmbedded);
  const database = createDatabase({ primary: url, replica: settings.replicaUrl }, settings, log);
  try {
    // The embedded database is the service's own, so it is always brought up to date.
    if (options.migrate || embedded) await migrateToLatest(database.primary, log);
  } catch (error) {
    await database.close();
    await embedded?.stop();
    throw error;
  }
  return {
    ...database,
    embedded: embedded !== undefined,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}

/**
 * Where the primary is: DATABASE_URL, or else the embedded PostgreSQL, started here, when the entry
 * point allows it (a developer's `npm start`); a pod without DATABASE_URL is refused.
 */
export async function startDatabaseServer(
  config: Config,
  log: Logger,
  startEmbedded: EmbeddedDatabaseStarter | undefined,
): Promise<{ url: string; embedded: EmbeddedDatabase | undefined }> {
  const settings = config.database;
  if (settings.url) return { url: settings.url, embedded: undefined };
  if (!startEmbedded) throw new ConfigError('DATABASE_URL is not set: the container runs no database of its own (npm start does, for development)');
  const embedded = await startEmbedded({ ...settings.embedded, log });
  return { url: embedded.url, embedded };
}

/** Applies the migrations not yet applied, and says so. */
export async function migrateToLatest(pool: pg.Pool, log: Logger): Promise<void> {
  const result = await migrate(pool, log);
  log.info({ applied: result.applied.length, alreadyApplied: result.alreadyApplied }, 'database schema is up to date');
}

/**
 * The shared Redis when REDIS_URL or REDIS_SENTINELS is set (with Sentinel, the current primary); a
 * start proceeds without it (reads fall back) but waits for it briefly.
 */
export async function openRedis(settings: CacheConfig, log: Logger, connectionName: string): Promise<Redis | undefined> {
  if (!settings.redis) return undefined;
  const redis = createRedisClient(settings.redis, { commandTimeoutMs: settings.redisCommandTimeoutMs, connectionName, log });
  if (!(await waitForRedisReady(redis, 2000))) log.warn('Redis is not reachable yet; serving from PostgreSQL until it is');
  return redis;
}

export async function closeRedis(redis: Redis | undefined): Promise<void> {
  await redis?.quit().catch(() => redis.disconnect());
}

/** The near cache and, with Redis, the shared tier, fill locks and invalidation, from the config's settings. */
export function buildCatalogCache(settings: CacheConfig, deps: { redis: Redis | undefined; log: Logger; metrics: Registry }): CatalogCache {
  return createCatalogCache({
    settings,
    redis: deps.redis,
    schemaVersion: RESPONSE_SCHEMA_VERSION,
    awaitReplicaMs: awaitReplicaMs(settings),
    log: deps.log,
    metrics: deps.metrics,
  });
}

/** Behind Sentinel there are replicas a failover promotes: an invalidation counts once one of them has it. */
function awaitReplicaMs(settings: CacheConfig): number {
  return settings.redis?.kind === 'sentinel' ? replicaWaitMs(settings.redisCommandTimeoutMs) : 0;
}

/**
 * For a process that serves no HTTP (the indexer): bumps the tags' generations in Redis and tells every
 * pod, whose caches then drop those pages from both tiers. It keeps no near cache and subscribes to
 * nothing. Rejects while Redis is down: the caller retries, never skips.
 */
export function buildInvalidator(settings: CacheConfig, redis: Redis): Invalidator {
  return createInvalidator({ redis, settings, awaitReplicaMs: awaitReplicaMs(settings) });
}

/**
 * What a change is invalidated with: `invalidator` (buildInvalidator's, or the api's own cache in
 * process) at once and, when the pods read a replica, again past its lag bound, so a page refilled
 * from a replica that had not caught up is not kept (src/cache/change-invalidation.ts). Close it after
 * the consumer and before Redis: it does the second bumps still pending.
 */
export function buildChangeInvalidation(settings: DatabaseConfig, invalidator: TagInvalidator, log: Logger): ChangeInvalidation {
  return createChangeInvalidation(invalidator, { lagBoundMs: settings.replicaLagBoundMs, replica: settings.replicaUrl !== undefined, log });
}

// The one place that reads process.env: every setting is named, typed, defaulted and checked here,
// then passed down. A bad value stops start-up with a message naming the variable.
import { availableParallelism } from 'node:os';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { HttpEdgeConfig, PressureConfig, RateLimitConfig } from './api/edge/edge-settings.ts';
import { resolveRedisTarget, type RedisTarget } from './cache/redis-target.ts';

const millis = { minimum: 1, maximum: 3_600_000 };
const PostgresUrl = Type.String({ pattern: '^postgres(ql)?://' });
const RedisUrl = Type.String({ pattern: '^rediss?://' });

const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  LOG_LEVEL: Type.String({ pattern: '^(fatal|error|warn|info|debug|trace|silent)$', default: 'info' }),

  DATABASE_URL: Type.Optional(PostgresUrl),
  DATABASE_REPLICA_URL: Type.Optional(PostgresUrl),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ ...millis, default: 2000 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ ...millis, default: 2000 }),
  MIGRATE_ON_START: Type.Boolean({ default: false }),
  // How far the replica may trail the primary: a change is invalidated again this long after the
  // first time, so a page refilled from a replica that had not caught up is not kept.
  DATABASE_REPLICA_LAG_BOUND_MS: Type.Integer({ ...millis, default: 1000 }),

  EMBEDDED_POSTGRES_DIR: Type.String({ default: '.data/postgres', minLength: 1 }),
  EMBEDDED_POSTGRES_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 54329 }),

  REDIS_URL: Type.Optional(RedisUrl),
  // Instead of REDIS_URL: host:port of each Sentinel, comma-separated (src/cache/redis-target.ts).
  REDIS_SENTINELS: Type.Optional(Type.String({ pattern: '^[^,:\\s]+:[0-9]{1,5}(,[^,:\\s]+:[0-9]{1,5})*$' })),
  REDIS_SENTINEL_MASTER: Type.String({ default: 'mymaster', pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  REDIS_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_KEY_PREFIX: Type.String({ default: 'catalog:', pattern: '^[A-Za-z0-9:_.-]{1,64}$' }),
  REDIS_COMMAND_TIMEOUT_MS: Type.Integer({ ...millis, default: 100 }),
  CACHE_NEAR_ENABLED: Type.Boolean({ default: true }),
  CACHE_NEAR_MAX_BYTES: Type.Integer({ minimum: 1024 * 1024, maximum: 16 * 1024 ** 3, default: 64 * 1024 * 1024 }),
  CACHE_NEAR_MAX_ENTRIES: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 16_384 }),
  CACHE_NEAR_TTL_MS: Type.Integer({ ...millis, default: 5000 }),
  CACHE_FRESH_TTL_MS: Type.Integer({ ...millis, default: 30_000 }),
  CACHE_MAX_STALE_MS: Type.Integer({ ...millis, default: 60_000 }),
  CACHE_STALE_IF_ERROR_MS: Type.Integer({ ...millis, default: 600_000 }),
  CACHE_MISS_TTL_MS: Type.Integer({ ...millis, default: 10_000 }),
  CACHE_LOCK_TTL_MS: Type.Integer({ ...millis, default: 10_000 }),
  CACHE_REFRESH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1000, default: 8 }),
  CACHE_REFRESH_MAX_QUEUED: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  // 32 MiB holds every product page of a 20,000-product catalog (about 1.6 KiB counted a URL).
  CACHE_HOT_URLS_MAX_BYTES: Type.Integer({ minimum: 0, maximum: 16 * 1024 ** 3, default: 32 * 1024 * 1024 }),

  // name:sha256-hex:scopes, comma-separated; scopes are read and write joined by '+' (README).
  ADMIN_TOKENS: Type.Optional(Type.String()),
  ADMIN_IDEMPOTENCY_TTL_MS: Type.Integer({ minimum: 60_000, maximum: 30 * 86_400_000, default: 86_400_000 }),

  // Without brokers the api process relays the outbox to its own indexer (the embedded default).
  KAFKA_BROKERS: Type.Optional(Type.String({ pattern: '^[^,\\s]+(,[^,\\s]+)*$' })),
  KAFKA_CLIENT_ID: Type.String({ default: 'catalog-service', minLength: 1 }),
  KAFKA_CHANGE_TOPIC: Type.String({ default: 'catalog.product-changes', pattern: '^[A-Za-z0-9._-]{1,249}$' }),
  KAFKA_DEAD_LETTER_TOPIC: Type.String({ default: 'catalog.product-changes.dead-letter', pattern: '^[A-Za-z0-9._-]{1,249}$' }),
  KAFKA_INDEXER_GROUP: Type.String({ default: 'catalog-indexer', minLength: 1 }),
  // How long the group waits for a consumer that went silent (a SIGKILLed indexer) before its partitions move.
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 300_000, default: 30_000 }),
  OUTBOX_POLL_INTERVAL_MS: Type.Integer({ ...millis, default: 1000 }),
  OUTBOX_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  OUTBOX_RETENTION_MS: Type.Integer({ minimum: 0, maximum: 30 * 86_400_000, default: 86_400_000 }),
  OUTBOX_PRUNE_INTERVAL_MS: Type.Integer({ ...millis, default: 60_000 }),
  INDEXER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
  INDEXER_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
  INDEXER_RETRY_BASE_MS: Type.Integer({ ...millis, default: 100 }),
  INDEXER_RETRY_MAX_MS: Type.Integer({ ...millis, default: 30_000 }),

  // Without OPENSEARCH_URL, PostgreSQL full-text search answers (the embedded default); with it,
  // OpenSearch answers and PostgreSQL stays the fallback while OpenSearch fails or is slow.
  OPENSEARCH_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  OPENSEARCH_INDEX: Type.String({ default: 'catalog-products', pattern: '^[a-z0-9][a-z0-9_.-]{0,200}$' }),
  OPENSEARCH_TIMEOUT_MS: Type.Integer({ ...millis, default: 800 }),
  OPENSEARCH_BREAKER_RESET_MS: Type.Integer({ ...millis, default: 10_000 }),
  SEARCH_SYNONYMS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // How often the indexer re-drives products whose OpenSearch write failed (search_index_pending).
  SEARCH_PENDING_RETRY_MS: Type.Integer({ ...millis, default: 5000 }),

  // The api's HTTP edge (api/edge/): client addresses behind proxies, CORS, body and URL bounds.
  // Hops of proxies (ingress, load balancer) whose X-Forwarded-For is believed; 0 trusts none.
  TRUST_PROXY_HOPS: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  // '*' or comma-separated origins (https://shop.example); unset: no CORS headers at all.
  CORS_ORIGINS: Type.Optional(Type.String({ pattern: '^(\\*|https?://[^,\\s]+(,https?://[^,\\s]+)*)$' })),
  HTTP_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  HTTP_MAX_URL_LENGTH: Type.Integer({ minimum: 256, maximum: 65_536, default: 4096 }),

  // Load shedding (@fastify/under-pressure): past a bound, answers are 503 with Retry-After; 0 turns a bound off.
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  PRESSURE_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  PRESSURE_MAX_HEAP_USED_BYTES: Type.Integer({ minimum: 0, maximum: 64 * 1024 ** 3, default: 0 }),
  PRESSURE_MAX_RSS_BYTES: Type.Integer({ minimum: 0, maximum: 64 * 1024 ** 3, default: 0 }),
  PRESSURE_RETRY_AFTER_S: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),

  // Rate limits (@fastify/rate-limit, counted in Redis when it is configured): requests per window per
  // client address on public routes and per token on /admin; 0 turns a limit off.
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ ...millis, default: 60_000 }),
  RATE_LIMIT_ADMIN_MAX: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 600 }),
  // Client addresses or CIDRs never limited (the storefront's own servers), comma-separated.
  RATE_LIMIT_ALLOW: Type.Optional(Type.String({ minLength: 1 })),

  // Cluster mode for hosts without an orchestrator: the api forks this many workers ('auto': one per
  // core); 0 runs one process, as a Kubernetes pod should.
  API_WORKERS: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0, maximum: 256 })], { default: 0 }),

  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 120_000, default: 0 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ ...millis, default: 10_000 }),
});
type Env = Static<typeof EnvSchema>;

export interface DatabaseConfig {
  /** Absent: the service starts embedded PostgreSQL in `embedded.dir`. */
  url: string | undefined;
  replicaUrl: string | undefined;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  migrateOnStart: boolean;
  /** How far the replica may trail the primary (a second invalidation follows each change by this much). */
  replicaLagBoundMs: number;
  embedded: { dir: string; port: number };
}

export interface CacheConfig {
  /** Absent: the near cache and in-process single-flight alone. */
  redis: RedisTarget | undefined;
  keyPrefix: string;
  redisCommandTimeoutMs: number;
  /** maxBytes bounds the bytes counted; maxEntries what entries keep alive beyond them (about 1.5 KiB each, docs/memory.md). */
  near: { enabled: boolean; maxBytes: number; maxEntries: number; ttlMs: number };
  freshTtlMs: number;
  /** The bound on how old a served price or stock level may be while PostgreSQL answers. */
  maxStaleMs: number;
  staleIfErrorMs: number;
  missTtlMs: number;
  lockTtlMs: number;
  /** Background refreshes of stale pages running at once per pod; the rest queue (stale copies serve meanwhile). */
  refreshConcurrency: number;
  /** Refreshes waiting for a slot beyond this many are not queued (each holds its stale copy); a later hit asks again. */
  refreshMaxQueued: number;
  /** Bound of what the hot path's table of URLs answered before retains (api/hot-urls.ts); 0 turns the hot path off. */
  hotUrlsMaxBytes: number;
}

export type AdminScope = 'read' | 'write';

/** An admin API token as configured: its name (logged), the SHA-256 of the secret, what it may do. */
export interface AdminToken {
  name: string;
  sha256: Buffer;
  scopes: ReadonlySet<AdminScope>;
}

export interface AdminConfig {
  /** Empty: every admin request is refused (401). */
  tokens: AdminToken[];
  idempotencyTtlMs: number;
}

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  changeTopic: string;
  deadLetterTopic: string;
  indexerGroup: string;
  sessionTimeoutMs: number;
}

export interface ChangeFeedConfig {
  /** Absent: the api process relays the outbox to its own indexer, in process. */
  kafka: KafkaConfig | undefined;
  outbox: { pollIntervalMs: number; batchSize: number; retentionMs: number; pruneIntervalMs: number };
  indexer: { concurrency: number; maxAttempts: number; retryBaseMs: number; retryMaxMs: number };
}

export interface OpenSearchConfig {
  url: string;
  /** The alias searches and writes go through; reindex builds `<index>-<timestamp>` behind it. */
  index: string;
  /** A search slower than this counts as failed: the PostgreSQL engine answers it. */
  timeoutMs: number;
  /** How long the breaker stays open before it lets one search try OpenSearch again. */
  breakerResetMs: number;
}

export interface SearchConfig {
  /** Absent: PostgreSQL full-text search alone. */
  openSearch: OpenSearchConfig | undefined;
  /** Solr-format synonyms, read by both engines; absent: the bundled src/search/synonyms.txt. */
  synonymsFile: string | undefined;
  pendingRetryMs: number;
}

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  database: DatabaseConfig;
  cache: CacheConfig;
  admin: AdminConfig;
  changeFeed: ChangeFeedConfig;
  search: SearchConfig;
  http: HttpEdgeConfig;
  pressure: PressureConfig;
  rateLimit: RateLimitConfig;
  /** Workers the api forks (cluster mode); 0: one process. */
  apiWorkers: number;
  shutdown: { delayMs: number; timeoutMs: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment and returns the typed configuration, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(EnvSchema.properties);
  // Empty strings mean "unset", so `DATABASE_URL= npm start` behaves like leaving it out.
  const raw = Object.fromEntries(known.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => [name, env[name]]));
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, { ...raw }));
  // One line per variable, naming it and the value it was given.
  const problems = new Map<string, string>();
  for (const error of Value.Errors(EnvSchema, converted)) {
    const name = error.instancePath.replace(/^\//, '') || 'environment';
    if (!problems.has(name)) problems.set(name, `${name}=${JSON.stringify(raw[name] ?? '')}: ${error.message}`);
  }
  if (problems.size > 0) throw new ConfigError(`invalid configuration:\n  ${[...problems.values()].join('\n  ')}`);
  const e = converted as Env;
  if (!(e.CACHE_FRESH_TTL_MS <= e.CACHE_MAX_STALE_MS && e.CACHE_MAX_STALE_MS <= e.CACHE_STALE_IF_ERROR_MS)) {
    throw new ConfigError('invalid configuration:\n  CACHE_FRESH_TTL_MS <= CACHE_MAX_STALE_MS <= CACHE_STALE_IF_ERROR_MS must hold');
  }
  // A fill lock that expired before the load could finish would let a second pod load too; a load
  // runs at most two queries in a row (filters then page; related then existence).
  if (e.CACHE_LOCK_TTL_MS <= 2 * (e.DATABASE_STATEMENT_TIMEOUT_MS + e.DATABASE_CONNECT_TIMEOUT_MS)) {
    throw new ConfigError('invalid configuration:\n  CACHE_LOCK_TTL_MS must exceed 2 x (DATABASE_STATEMENT_TIMEOUT_MS + DATABASE_CONNECT_TIMEOUT_MS)');
  }
  const redis = resolveRedisTarget({ url: e.REDIS_URL, sentinels: e.REDIS_SENTINELS, sentinelMaster: e.REDIS_SENTINEL_MASTER, password: e.REDIS_PASSWORD, sentinelPassword: e.REDIS_SENTINEL_PASSWORD });
  if ('problem' in redis) throw new ConfigError(`invalid configuration:\n  ${redis.problem}`);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    database: {
      url: e.DATABASE_URL,
      replicaUrl: e.DATABASE_REPLICA_URL,
      poolMax: e.DATABASE_POOL_MAX,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      migrateOnStart: e.MIGRATE_ON_START,
      replicaLagBoundMs: e.DATABASE_REPLICA_LAG_BOUND_MS,
      embedded: { dir: e.EMBEDDED_POSTGRES_DIR, port: e.EMBEDDED_POSTGRES_PORT },
    },
    cache: {
      redis: redis.target,
      keyPrefix: e.REDIS_KEY_PREFIX,
      redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      near: { enabled: e.CACHE_NEAR_ENABLED, maxBytes: e.CACHE_NEAR_MAX_BYTES, maxEntries: e.CACHE_NEAR_MAX_ENTRIES, ttlMs: e.CACHE_NEAR_TTL_MS },
      freshTtlMs: e.CACHE_FRESH_TTL_MS,
      maxStaleMs: e.CACHE_MAX_STALE_MS,
      staleIfErrorMs: e.CACHE_STALE_IF_ERROR_MS,
      missTtlMs: e.CACHE_MISS_TTL_MS,
      lockTtlMs: e.CACHE_LOCK_TTL_MS,
      refreshConcurrency: e.CACHE_REFRESH_CONCURRENCY,
      refreshMaxQueued: e.CACHE_REFRESH_MAX_QUEUED,
      hotUrlsMaxBytes: e.CACHE_HOT_URLS_MAX_BYTES,
    },
    admin: { tokens: parseAdminTokens(e.ADMIN_TOKENS), idempotencyTtlMs: e.ADMIN_IDEMPOTENCY_TTL_MS },
    changeFeed: {
      kafka: e.KAFKA_BROKERS
        ? {
            brokers: e.KAFKA_BROKERS.split(','),
            clientId: e.KAFKA_CLIENT_ID,
            changeTopic: e.KAFKA_CHANGE_TOPIC,
            deadLetterTopic: e.KAFKA_DEAD_LETTER_TOPIC,
            indexerGroup: e.KAFKA_INDEXER_GROUP,
            sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
          }
        : undefined,
      outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS, batchSize: e.OUTBOX_BATCH_SIZE, retentionMs: e.OUTBOX_RETENTION_MS, pruneIntervalMs: e.OUTBOX_PRUNE_INTERVAL_MS },
      indexer: { concurrency: e.INDEXER_CONCURRENCY, maxAttempts: e.INDEXER_MAX_ATTEMPTS, retryBaseMs: e.INDEXER_RETRY_BASE_MS, retryMaxMs: e.INDEXER_RETRY_MAX_MS },
    },
    search: {
      openSearch: e.OPENSEARCH_URL
        ? { url: e.OPENSEARCH_URL, index: e.OPENSEARCH_INDEX, timeoutMs: e.OPENSEARCH_TIMEOUT_MS, breakerResetMs: e.OPENSEARCH_BREAKER_RESET_MS }
        : undefined,
      synonymsFile: e.SEARCH_SYNONYMS_FILE,
      pendingRetryMs: e.SEARCH_PENDING_RETRY_MS,
    },
    http: {
      trustProxyHops: e.TRUST_PROXY_HOPS,
      corsOrigins: e.CORS_ORIGINS === undefined ? undefined : e.CORS_ORIGINS === '*' ? '*' : e.CORS_ORIGINS.split(','),
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
      maxUrlLength: e.HTTP_MAX_URL_LENGTH,
    },
    pressure: {
      maxEventLoopDelayMs: e.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: e.PRESSURE_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: e.PRESSURE_MAX_HEAP_USED_BYTES,
      maxRssBytes: e.PRESSURE_MAX_RSS_BYTES,
      retryAfterS: e.PRESSURE_RETRY_AFTER_S,
    },
    rateLimit: {
      max: e.RATE_LIMIT_MAX,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      adminMax: e.RATE_LIMIT_ADMIN_MAX,
      allow: e.RATE_LIMIT_ALLOW ? e.RATE_LIMIT_ALLOW.split(',').map((entry) => entry.trim()).filter(Boolean) : [],
    },
    apiWorkers: e.API_WORKERS === 'auto' ? availableParallelism() : e.API_WORKERS,
    shutdown: { delayMs: e.SHUTDOWN_DELAY_MS, timeoutMs: e.SHUTDOWN_TIMEOUT_MS },
  };
}

const ADMIN_TOKEN = /^([A-Za-z0-9_.-]{1,64}):([0-9a-f]{64}):((?:read|write)(?:\+(?:read|write))?)$/;

/** ADMIN_TOKENS: `name:sha256-hex:scopes,...`. Only hashes are configured: a leaked config grants nothing. */
function parseAdminTokens(value: string | undefined): AdminToken[] {
  if (!value) return [];
  const tokens = value.split(',').map((entry, index) => {
    const match = ADMIN_TOKEN.exec(entry.trim());
    if (!match) {
      throw new ConfigError(`invalid configuration:\n  ADMIN_TOKENS entry ${index + 1}: expected name:sha256-hex:scopes (64 lowercase hex digits; scopes read, write or read+write)`);
    }
    const [, name, hash, scopes] = match as unknown as [string, string, string, string];
    return { name, sha256: Buffer.from(hash, 'hex'), scopes: new Set(scopes.split('+') as AdminScope[]) };
  });
  const names = tokens.map((token) => token.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated) throw new ConfigError(`invalid configuration:\n  ADMIN_TOKENS names the token "${repeated}" twice`);
  return tokens;
}
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.properties);

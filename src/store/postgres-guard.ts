// Reads go through an opossum breaker: when PostgreSQL is down or drowning, requests fail fast with
// a 503 problem (and the cache serves what it has) instead of queueing for a connection. The
// breaker half-opens after resetTimeoutMs and closes on its own once queries succeed again.
import CircuitBreaker from 'opossum';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { CatalogError } from '../catalog/catalog-error.ts';
import { observeBreaker } from '../observability/breaker-metrics.ts';

/** The one method the repositories use, so a pool, a guarded pool and a transaction client all fit. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface GuardedPostgres extends Queryable {
  readonly breaker: CircuitBreaker<[string, unknown[] | undefined], pg.QueryResult>;
  shutdown(): void;
}

export interface PostgresGuardOptions {
  /** A query still running after this counts as failed (the statement timeout stops it server-side). */
  timeoutMs: number;
  resetTimeoutMs?: number;
  registry?: Registry;
}

// SQLSTATE classes that say the database (not the query) is in trouble: transaction rollback
// (serialization failures, replica recovery conflicts), connection exceptions, insufficient
// resources, operator intervention (incl. statement timeout), system errors.
const DEPENDENCY_CLASSES = new Set(['40', '08', '53', '57', '58', 'XX']);

export function isDatabaseUnavailable(error: unknown): boolean {
  // Only the server's own errors carry a SQLSTATE; anything else (a socket error such as EPIPE, a
  // connect timeout, a pool that was ended, the breaker itself) means the database is out of reach.
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') return DEPENDENCY_CLASSES.has(error.code.slice(0, 2));
  return true;
}

export function guardPostgres(pool: Queryable, options: PostgresGuardOptions): GuardedPostgres {
  const resetTimeoutMs = options.resetTimeoutMs ?? 2000;
  const breaker = new CircuitBreaker((text: string, values: unknown[] | undefined) => pool.query(text, values), {
    name: 'postgres',
    timeout: options.timeoutMs,
    resetTimeout: resetTimeoutMs,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    rollingCountTimeout: 10_000,
    // A bad query (a cast error, a constraint) is the caller's problem, not the database's.
    errorFilter: (error: unknown) => !isDatabaseUnavailable(error),
  });
  const unobserve = options.registry ? observeBreaker(breaker, 'postgres', options.registry) : () => undefined;
  return {
    breaker,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      try {
        return (await breaker.fire(text, values)) as pg.QueryResult<R>;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        throw new CatalogError('service-unavailable', 'the catalog database is unavailable', {
          cause: error,
          retryAfterSeconds: Math.ceil(resetTimeoutMs / 1000),
        });
      }
    },
    shutdown() {
      unobserve();
      breaker.shutdown();
    },
  };
}

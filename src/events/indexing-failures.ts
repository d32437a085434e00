// Why applying a change failed, and whether waiting can fix it. The indexer retries an unavailable
// dependency (PostgreSQL, Redis, the search engine, the dead-letter topic) for as long as it takes:
// skipping would leave a stale page or document behind for good. Anything else is the change's own
// problem and is retried a bounded number of times, then dead-lettered so the next ones go on.
import pg from 'pg';
import { CatalogError } from '../catalog/catalog-error.ts';

/** A label value of the failed and dead-lettered counters. */
export type FailureReason =
  | 'invalid-event'
  | 'database-unavailable'
  | 'redis-unavailable'
  | 'search-unavailable'
  | 'document-load-failed'
  | 'search-write-failed';

export type IndexingStep = 'document-load' | 'search-write' | 'invalidation';

export class IndexingFailure extends Error {
  override name = 'IndexingFailure';
  constructor(
    readonly step: IndexingStep,
    readonly reason: FailureReason,
    /** Retried without limit: the dependency is down, the change is fine. */
    readonly transient: boolean,
    cause: unknown,
  ) {
    super(`${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** An event that does not decode or validate: retrying cannot fix it. */
export class InvalidChangeEvent extends Error {
  override name = 'InvalidChangeEvent';
}

/** Runs one step, turning its error into an IndexingFailure that says whether to wait or to count. */
export async function step<T>(name: IndexingStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classify(name, error);
  }
}

function classify(name: IndexingStep, error: unknown): IndexingFailure {
  // The invalidator talks to Redis and nothing else: whatever it rejects with, Redis is the cause
  // (down, timing out, its breaker open). Redis down means retry, never skip.
  if (name === 'invalidation') return new IndexingFailure(name, 'redis-unavailable', true, error);
  if (isUnavailable(error)) return new IndexingFailure(name, name === 'search-write' ? 'search-unavailable' : 'database-unavailable', true, error);
  return new IndexingFailure(name, name === 'search-write' ? 'search-write-failed' : 'document-load-failed', false, error);
}

// SQLSTATE classes that say the database (not the statement) is in trouble: transaction rollback
// (serialization failure, deadlock), connection exception, insufficient resources, operator
// intervention (shutdown, statement timeout), system error.
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(['40', '08', '53', '57', '58', 'XX']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EOPENBREAKER']);
// pg reports a lost or refused connection with plain Errors; so do the search engine's clients.
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|ConnectionError|NoLivingConnections/i;

/** A dependency out of reach, as opposed to a statement or a document it refused. */
export function isUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth++) {
    if (cause instanceof CatalogError) return cause.code === 'service-unavailable';
    if (cause instanceof pg.DatabaseError) return typeof cause.code === 'string' && UNAVAILABLE_SQLSTATE_CLASSES.has(cause.code.slice(0, 2));
    const { code } = cause as { code?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_SOCKET_CODES.has(code)) return true;
    if (UNAVAILABLE_MESSAGES.test(cause.name) || UNAVAILABLE_MESSAGES.test(cause.message)) return true;
    if (cause instanceof AggregateError) return cause.errors.some(isUnavailable);
  }
  return false;
}

/**
 * The pause before retry `attempt` (1-based): exponential from baseMs, capped at maxMs, with "equal
 * jitter" (half fixed, half random) so indexers retrying together spread out but never spin.
 */
export function retryDelayMs(attempt: number, settings: { retryBaseMs: number; retryMaxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

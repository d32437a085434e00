// The OpenSearch client as the engine uses it: one bounded request timeout, no hidden retries (the
// breaker and the indexer decide when to try again), and failures sorted into "OpenSearch is out
// of reach" (a 503 CatalogError, which the indexer waits out) and everything else.
import { Client, errors } from '@opensearch-project/opensearch';
import { CatalogError } from '../catalog/catalog-error.ts';

export interface OpenSearchClientOptions {
  url: string;
  /** Every request rejects after this long, whatever the server does. */
  timeoutMs: number;
}

export function createOpenSearchClient({ url, timeoutMs }: OpenSearchClientOptions): Client {
  // maxRetries 0: a retry inside the client would double the time a slow cluster holds a shopper's
  // request before the breaker sees the failure.
  return new Client({ node: url, requestTimeout: timeoutMs, maxRetries: 0 });
}

/** What a request to the client returns: a promise that can also be aborted. */
interface AbortableRequest<T> extends Promise<T> {
  abort: () => void;
}

/**
 * Awaits one client request, aborting it when `signal` aborts, and turns an unreachable, timing-out
 * or overloaded cluster into CatalogError('service-unavailable').
 */
export async function callOpenSearch<T>(request: AbortableRequest<T>, signal?: AbortSignal): Promise<T> {
  // void: abort() returns the request, a thenable; an EventTarget listener returning one has its
  // rejection rethrown as an uncaught exception.
  const abort = () => void request.abort();
  if (signal?.aborted) abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await request;
  } catch (error) {
    throw unavailable(error) ?? error;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** Statuses that say the cluster (not the request) is in trouble: too many requests, bad gateway, unavailable, gateway timeout. */
export const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504]);

function unavailable(error: unknown): CatalogError | undefined {
  const out = (message: string) => new CatalogError('service-unavailable', `OpenSearch is unavailable: ${message}`, { cause: error });
  if (error instanceof errors.ConnectionError || error instanceof errors.NoLivingConnectionsError) return out(error.message);
  if (error instanceof errors.TimeoutError) return out('the request timed out');
  if (error instanceof errors.ResponseError && UNAVAILABLE_STATUSES.has(error.statusCode)) return out(`status ${error.statusCode}`);
  return undefined;
}

// Idempotency-Key on the admin API's POSTs. The key is claimed by inserting its row first thing in the
// write's transaction, and the answer is stored in the same row before the commit: a retry after a
// lost answer finds the row and gets that answer back, changing nothing. A duplicate arriving while
// the first is still running waits on the primary key until the first commits, then finds its
// answer; if the first rolled back, the duplicate claims the key and does the write itself.
import type pg from 'pg';
import { CatalogError } from '../catalog/catalog-error.ts';

type Client = Pick<pg.PoolClient, 'query'>;

/** A request that carried Idempotency-Key: the key and a digest of what was asked. */
export interface IdempotentRequest {
  key: string;
  /** The same request digests the same (method, path and body); the same key with another is refused. */
  fingerprint: string;
}

/** An answer as sent, to send again. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * Claims the key for this transaction's write (undefined), or returns the answer stored under it.
 * A key older than `ttlMs` is forgotten first, so it is claimed anew.
 */
export async function claimIdempotencyKey(client: Client, tokenName: string, request: IdempotentRequest, ttlMs: number): Promise<StoredAnswer | undefined> {
  const key = [tokenName, request.key];
  await client.query(`DELETE FROM admin_idempotency_keys WHERE token_name = $1 AND key = $2 AND created_at < now() - $3 * interval '1 millisecond'`, [...key, ttlMs]);
  const claimed = await client.query(
    // The status is a placeholder, replaced before the commit: nobody ever reads it.
    `INSERT INTO admin_idempotency_keys (token_name, key, request_hash, status) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`,
    [...key, request.fingerprint],
  );
  if (claimed.rowCount === 1) return undefined;
  const { rows } = await client.query<{ request_hash: string; status: number; headers: Record<string, string>; body: unknown }>(
    'SELECT request_hash, status, headers, body FROM admin_idempotency_keys WHERE token_name = $1 AND key = $2',
    key,
  );
  const stored = rows[0];
  // Pruned between the two statements: the client may simply retry.
  if (!stored) throw new CatalogError('service-unavailable', 'the idempotency key expired while it was being read; retry', { retryAfterSeconds: 1 });
  if (stored.request_hash !== request.fingerprint) {
    throw new CatalogError('idempotency-key-reused', `the Idempotency-Key ${request.key} was used for a different request`, {
      errors: [{ in: 'headers', name: 'idempotency-key', reason: 'was used for a different request; use a new key for a new request' }],
    });
  }
  return { status: stored.status, headers: stored.headers, body: stored.body };
}

export async function storeIdempotentAnswer(client: Client, tokenName: string, key: string, answer: StoredAnswer): Promise<void> {
  await client.query('UPDATE admin_idempotency_keys SET status = $3, headers = $4::jsonb, body = $5::jsonb WHERE token_name = $1 AND key = $2', [
    tokenName,
    key,
    answer.status,
    JSON.stringify(answer.headers),
    JSON.stringify(answer.body),
  ]);
}

/** Forgets keys older than `ttlMs`; returns how many. */
export async function pruneIdempotencyKeys(client: Client, ttlMs: number): Promise<number> {
  const { rowCount } = await client.query(`DELETE FROM admin_idempotency_keys WHERE created_at < now() - $1 * interval '1 millisecond'`, [ttlMs]);
  return rowCount ?? 0;
}

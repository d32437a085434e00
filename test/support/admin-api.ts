// The admin API in tests: tokens minted as the README says, and what a write left in the database
// (its change events, a checksum of everything a refused write must not touch).
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ProductChangeBody } from '../../src/catalog/product-change.ts';

export interface MintedToken {
  name: string;
  token: string;
  /** The ADMIN_TOKENS entry: name:sha256-hex:scopes. */
  entry: string;
  authorization: string;
}

export function mintToken(name: string, scopes: 'read' | 'write' | 'read+write'): MintedToken {
  const token = randomBytes(32).toString('base64url');
  return { name, token, entry: `${name}:${createHash('sha256').update(token).digest('hex')}:${scopes}`, authorization: `Bearer ${token}` };
}

/** The newest outbox row's id: the events a write committed are the rows after it. */
export async function lastChangeId(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ id: number | null }>('SELECT max(id) AS id FROM product_changes');
  return rows[0]?.id ?? 0;
}

export async function changesAfter(pool: pg.Pool, id: number): Promise<(ProductChangeBody & { rowVersion: number })[]> {
  const { rows } = await pool.query<{ event: ProductChangeBody; version: number }>('SELECT event, version FROM product_changes WHERE id > $1 ORDER BY id', [id]);
  return rows.map((row) => ({ ...row.event, rowVersion: row.version }));
}

/**
 * An md5 of every product, variant, outbox row, idempotency key, category and brand, in order: what a
 * refused write must leave exactly as it was. A product stands in by its version and updated_at,
 * which its trigger moves on any change to the row or its variants (hashing 20,000 descriptions
 * took a second); an outbox row by its id, product and version (its event never changes).
 */
export async function catalogChecksum(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ digest: string }>(
    `SELECT md5(
       (SELECT string_agg((p.id, p.version, p.updated_at, p.slug, p.status, p.external_id)::text, '' ORDER BY p.id) FROM products p) ||
       (SELECT string_agg(v::text, '' ORDER BY v.id) FROM variants v) ||
       (SELECT coalesce(string_agg((c.id, c.product_id, c.version, c.published_at)::text, '' ORDER BY c.id), '') FROM product_changes c) ||
       (SELECT coalesce(string_agg(k::text, '' ORDER BY k.token_name, k.key), '') FROM admin_idempotency_keys k) ||
       (SELECT string_agg(x::text, '' ORDER BY x.id) FROM categories x) ||
       (SELECT string_agg(b::text, '' ORDER BY b.id) FROM brands b)
     ) AS digest`,
  );
  return rows[0]?.digest ?? '';
}

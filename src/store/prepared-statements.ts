// Read queries as named prepared statements. node-postgres sends a query with parameters as an
// unnamed statement, which PostgreSQL parses and plans on every call; for the product page query
// that was 60 % of its cost (pgbench on this query: 2,709 tps unnamed vs 6,895 prepared). A named
// statement is prepared once per connection and its plan cached by PostgreSQL (for parameterised
// lookups by id, slug or category path it settles on one plan after five runs).
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { Queryable } from './postgres-guard.ts';

/** Query texts come from a fixed set of shapes (one per listing filter combination and sort), far fewer than this. */
const MAX_STATEMENTS = 2_000;

/**
 * PostgreSQL fixes a prepared statement's result type: once a migration changes the type of a column
 * it returns, every execution of it fails with this error, on every connection that prepared it
 * (checked on PostgreSQL 15). pg-pool drops a connection whose query failed, so without help each
 * of a pod's connections would fail one read after such a migration.
 */
function isResultTypeChange(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

export function preparedStatements(pool: pg.Pool): Queryable {
  // The name is a digest of the text, so two texts never share a name on a connection. The epoch
  // starts new names after a result type changed: the pool cannot say which connections hold the
  // old statement, but a new name is prepared afresh on each, so the read that met the change is
  // retried once and no other read meets it (the old statements stay allocated until their
  // connections close).
  let epoch = 0;
  const names = new LRUCache<string, string>({ max: MAX_STATEMENTS });
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `catalog_${epoch}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      const name = nameOf(text);
      try {
        return await pool.query<R>({ name, text, values });
      } catch (error) {
        if (!isResultTypeChange(error)) throw error;
        // Only the first of the failures in flight under this name starts a new epoch.
        if (names.get(text) === name) {
          epoch += 1;
          names.clear();
        }
        return pool.query<R>({ name: nameOf(text), text, values });
      }
    },
  };
}

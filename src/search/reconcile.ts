// Drift repair between PostgreSQL (the truth) and a search index. Walks product ids in ranges,
// compares each product's version and visibility with what the index holds, and rewrites the
// products that differ from their current rows. A change the pipeline lost (a dead letter never
// replayed, an index restored from an old snapshot, an OpenSearch write given up on) is found here.
import type { Logger } from 'pino';
import type { Queryable } from '../store/postgres-guard.ts';
import { LISTED } from '../store/product-repository.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';
import type { IndexedVersions, SearchIndexWriter } from './search-port.ts';

export type Drift =
  /** Listed in PostgreSQL, absent from the index. */
  | 'missing'
  /** The index holds an older version. */
  | 'behind'
  /** Same version, but the index shows a product shoppers must not find, or hides one they should. */
  | 'visibility'
  /** The product no longer exists; the index still shows it. */
  | 'gone'
  /** The index holds a newer version than PostgreSQL (a database restored from a backup): reported, not repaired; reindex. */
  | 'ahead';

export interface ReconcileReport {
  checked: number;
  drift: Record<Drift, number>;
  repaired: number;
  /** Up to 20 examples per kind, for the operator. */
  examples: Partial<Record<Drift, number[]>>;
}

export interface ReconcileOptions {
  /** The primary: the index must match what was committed, not what a replica has caught up to. */
  pool: Queryable;
  index: SearchIndexWriter & IndexedVersions;
  /** Ids per comparison. */
  rangeSize?: number;
  /** Report without writing. */
  dryRun?: boolean;
  log: Logger;
  /** Aborted: stops before the next range, throwing its reason (every range repaired so far stays). */
  signal?: AbortSignal;
}

export async function reconcileSearchIndex(options: ReconcileOptions): Promise<ReconcileReport> {
  const { pool, index, log } = options;
  const rangeSize = options.rangeSize ?? 2000;
  const report: ReconcileReport = { checked: 0, drift: { missing: 0, behind: 0, visibility: 0, gone: 0, ahead: 0 }, repaired: 0, examples: {} };
  const { rows } = await pool.query<{ max: string | null }>('SELECT max(id)::text AS max FROM products');
  const lastId = Number(rows[0]?.max ?? 0);
  // The last range reaches past the newest product: documents of ids PostgreSQL no longer has.
  for (let from = 1; from <= lastId + 1; from += rangeSize) {
    options.signal?.throwIfAborted();
    const to = from + rangeSize > lastId ? Number.MAX_SAFE_INTEGER : from + rangeSize - 1;
    const [truth, indexed] = await Promise.all([productVersions(pool, from, to), index.versions(from, to)]);
    const repair: number[] = [];
    const note = (kind: Drift, id: number) => {
      report.drift[kind] += 1;
      const examples = (report.examples[kind] ??= []);
      if (examples.length < 20) examples.push(id);
      if (kind !== 'ahead') repair.push(id);
    };
    for (const [id, product] of truth) {
      report.checked += 1;
      const held = indexed.get(id);
      if (!held) {
        if (product.listed) note('missing', id);
      } else if (held.version < product.version) note('behind', id);
      else if (held.version > product.version) note('ahead', id);
      else if (held.removed === product.listed) note('visibility', id);
    }
    for (const [id, held] of indexed) {
      if (truth.has(id)) continue;
      report.checked += 1;
      if (!held.removed) note('gone', id);
    }
    if (repair.length > 0 && !options.dryRun) {
      // The rows as they are now: a change committed since the comparison is written, not undone.
      const written = await index.write(await loadSearchDocumentChanges(pool, repair), { replaceSameVersion: true });
      report.repaired += written.applied;
    }
    if (to === Number.MAX_SAFE_INTEGER) break;
  }
  log.info({ checked: report.checked, drift: report.drift, repaired: report.repaired }, 'search index reconciled');
  return report;
}

async function productVersions(pool: Queryable, from: number, to: number): Promise<Map<number, { version: number; listed: boolean }>> {
  const { rows } = await pool.query<{ id: string; version: string; listed: boolean }>(
    `SELECT p.id, p.version, (${LISTED}) AS listed FROM products p WHERE p.id BETWEEN $1 AND $2`,
    [from, to],
  );
  return new Map(rows.map((row) => [Number(row.id), { version: Number(row.version), listed: row.listed }]));
}

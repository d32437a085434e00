// Zero-downtime reindex: a new concrete index is built from PostgreSQL while the old one keeps
// answering through the alias, then one _aliases call moves the alias (shoppers and the indexer's
// writes follow it at once), then the changes committed since the build began are applied again to
// the new index, and the old one is deleted. Nothing written meanwhile is lost: a change the indexer
// wrote to the old index before the swap is in product_changes and is replayed after it; every write
// carries the product's version, so a replay never undoes a newer document.
import type { API, Client } from '@opensearch-project/opensearch';
import type { Queryable } from '../store/postgres-guard.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';
import { callOpenSearch } from './opensearch-client.ts';
import { concreteIndexName, indexDefinition } from './opensearch-index.ts';
import { createOpenSearchIndexWriter } from './opensearch-writer.ts';

export interface ReindexOptions {
  client: Client;
  pool: Queryable;
  /** The alias (OPENSEARCH_INDEX). */
  alias: string;
  synonyms: readonly string[];
  batchSize?: number;
  replicas?: number;
  /**
   * Changes committed this long before the build began are replayed too: a writer's transaction
   * that numbered its change before the build read the high-water mark may commit after it.
   */
  catchUpMarginMs?: number;
  now?: () => Date;
  onProgress?: (documents: number) => void;
  /** Aborted during the build: the half-built index is deleted and the alias stays where it was. */
  signal?: AbortSignal;
}

export interface ReindexResult {
  /** The concrete index the alias now points at. */
  index: string;
  /** The indexes it pointed at before (deleted). */
  previous: string[];
  /** Products written by the build (tombstones of unlisted products included). */
  documents: number;
  /** Products written again after the swap: changed while the build ran. */
  caughtUp: number;
  tookMs: number;
}

export const DEFAULT_REINDEX_BATCH_SIZE = 500;
/** OpenSearch's default: a write is searchable within a second (the freshness the search issue asks for). */
export const REFRESH_INTERVAL = '1s';

/** The one _aliases body that moves the alias: removing it from the old indexes and adding it to the new, atomically. */
export function aliasSwapActions(alias: string, index: string, previous: readonly string[], concreteIndexNamedLikeAlias = false): API.Indices_UpdateAliases_RequestBody {
  return {
    actions: [
      ...previous.map((old) => ({ remove: { index: old, alias } })),
      // An index that holds the alias's own name (created by hand or by an older version) must go in the same step.
      ...(concreteIndexNamedLikeAlias ? [{ remove_index: { index: alias } }] : []),
      { add: { index, alias } },
    ],
  };
}

export async function reindexOpenSearch(options: ReindexOptions): Promise<ReindexResult> {
  const { client, pool, alias, batchSize = DEFAULT_REINDEX_BATCH_SIZE, replicas = 1, catchUpMarginMs = 60_000, now = () => new Date() } = options;
  const started = Date.now();
  const { rows } = await pool.query<{ max_id: string; started_at: Date }>('SELECT coalesce(max(id), 0) AS max_id, now() AS started_at FROM product_changes');
  const mark = { maxChangeId: rows[0]!.max_id, startedAt: rows[0]!.started_at };
  const index = concreteIndexName(alias, now());

  // Built without replicas or refreshes (both cost while nobody searches it), then given both.
  const definition = indexDefinition({ synonyms: options.synonyms, replicas: 0 });
  await callOpenSearch(client.indices.create({ index, body: { ...definition, settings: { ...definition.settings, refresh_interval: '-1' } } }));
  let documents = 0;
  try {
    const writer = createOpenSearchIndexWriter({ client, index });
    for (let after = 0; ; ) {
      options.signal?.throwIfAborted();
      const batch = await pool.query<{ id: string }>('SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2', [after, batchSize]);
      if (batch.rows.length === 0) break;
      const ids = batch.rows.map((row) => Number(row.id));
      await writer.write(await loadSearchDocumentChanges(pool, ids));
      documents += ids.length;
      after = ids.at(-1)!;
      options.onProgress?.(documents);
    }
    await callOpenSearch(client.indices.putSettings({ index, body: { number_of_replicas: replicas, refresh_interval: REFRESH_INTERVAL } }));
    await callOpenSearch(client.indices.refresh({ index }));
  } catch (error) {
    await callOpenSearch(client.indices.delete({ index }, { ignore: [404] })).catch(() => undefined);
    throw error;
  }

  const previous = await indexesBehind(client, alias);
  await callOpenSearch(client.indices.updateAliases({ body: aliasSwapActions(alias, index, previous.indexes, previous.concrete) }));

  const caughtUp = await catchUp(options, mark, catchUpMarginMs, batchSize);
  if (previous.indexes.length > 0) await callOpenSearch(client.indices.delete({ index: previous.indexes }, { ignore: [404] }));
  return { index, previous: previous.indexes, documents, caughtUp, tookMs: Date.now() - started };
}

/** The indexes the alias points at; `concrete` when the name is a plain index instead of an alias. */
async function indexesBehind(client: Client, alias: string): Promise<{ indexes: string[]; concrete: boolean }> {
  const found = await callOpenSearch(client.indices.getAlias({ name: alias }, { ignore: [404] }));
  if (found.statusCode === 200) return { indexes: Object.keys(found.body as object), concrete: false };
  const exists = await callOpenSearch(client.indices.exists({ index: alias }, { ignore: [404] }));
  return { indexes: [], concrete: exists.statusCode === 200 };
}

/** Writes again, through the alias, every product changed since the build began. */
async function catchUp(options: ReindexOptions, mark: { maxChangeId: string; startedAt: Date }, marginMs: number, batchSize: number): Promise<number> {
  const { rows } = await options.pool.query<{ product_id: string }>(
    `SELECT DISTINCT product_id FROM product_changes
      WHERE id > $1 OR committed_at >= $2::timestamptz - make_interval(secs => $3 / 1000.0)
      ORDER BY product_id`,
    [mark.maxChangeId, mark.startedAt, marginMs],
  );
  const writer = createOpenSearchIndexWriter({ client: options.client, index: options.alias });
  const ids = rows.map((row) => Number(row.product_id));
  for (let start = 0; start < ids.length; start += batchSize) {
    await writer.write(await loadSearchDocumentChanges(options.pool, ids.slice(start, start + batchSize)));
  }
  return ids.length;
}

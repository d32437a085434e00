// The search engines and indexes from configuration, for the api (what searches read), the indexers
// (what changes are written to) and the reindex and reconcile commands. PostgreSQL's read model is
// always there: it is the embedded default's engine and OpenSearch's fallback.
import { readFile } from 'node:fs/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { createOpenSearchClient } from '../search/opensearch-client.ts';
import { createOpenSearchEngine } from '../search/opensearch-engine.ts';
import { ensureOpenSearchIndex } from '../search/opensearch-index.ts';
import { createOpenSearchIndexedVersions } from '../search/opensearch-versions.ts';
import { createOpenSearchIndexWriter } from '../search/opensearch-writer.ts';
import { createPostgresSearchEngine } from '../search/postgres-search-engine.ts';
import { startPendingRedrive, withOpenSearchCopy } from '../search/opensearch-copy.ts';
import { createPostgresSearchIndex } from '../search/postgres-search-index.ts';
import type { IndexedVersions, SearchEngine, SearchIndexWriter } from '../search/search-port.ts';
import { parseSynonyms, SYNONYMS_FILE, synonymRules as synonymRulesOf } from '../search/solr-synonyms.ts';
import type { Queryable } from '../store/postgres-guard.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';

export interface OpenSearchIndex {
  client: Client;
  alias: string;
  /** The synonym rules an index is created with. */
  synonyms: string[];
  engine: SearchEngine;
  index: SearchIndexWriter & IndexedVersions;
  close(): Promise<void>;
}

export interface SearchIndexes {
  readModel: SearchIndexWriter & IndexedVersions;
  postgresEngine: SearchEngine;
  openSearch: OpenSearchIndex | undefined;
}

/**
 * `pool` is where searches read the read model (the read pool) and where it is written (the primary)
 * alike for the writers; the api passes its guarded read pool, the indexer its primary.
 */
export async function openSearchIndexes(config: Config, pool: Queryable): Promise<SearchIndexes> {
  // One file, read once: the PostgreSQL engine's map and OpenSearch's rules come from the same text.
  const synonymsFile = config.search.synonymsFile ?? SYNONYMS_FILE;
  const synonymsText = await readFile(synonymsFile, 'utf8');
  const postgres = createPostgresSearchEngine({ pool, synonyms: parseSynonyms(synonymsText) });
  const writer = createPostgresSearchIndex({ pool });
  const readModel = { write: writer.write, versions: postgres.versions };
  const settings = config.search.openSearch;
  if (!settings) return { readModel, postgresEngine: postgres, openSearch: undefined };
  const client = createOpenSearchClient({ url: settings.url, timeoutMs: settings.timeoutMs });
  const synonymRules = synonymRulesOf(synonymsText, synonymsFile);
  const osWriter = createOpenSearchIndexWriter({ client, index: settings.index, refresh: 'wait_for' });
  const versions = createOpenSearchIndexedVersions({ client, index: settings.index });
  return {
    readModel,
    postgresEngine: postgres,
    openSearch: {
      client,
      alias: settings.index,
      synonyms: synonymRules,
      engine: createOpenSearchEngine({ client, index: settings.index }),
      index: { write: osWriter.write, versions: versions.versions },
      close: () => client.close(),
    },
  };
}

/**
 * What an indexer (the indexer role, or the api's in-process one) writes changes to: the read model,
 * and OpenSearch when configured, whose failures wait in search_index_pending (opensearch-copy.ts)
 * and are re-driven in the background. `pool` is the primary.
 */
export async function openIndexerSearchIndex(
  config: Config,
  pool: Queryable,
  deps: { log: Logger; metrics: Registry; invalidator: { invalidate(tags: readonly string[]): Promise<void> } },
): Promise<{ searchIndex: SearchIndexWriter; close(): Promise<void> }> {
  const indexes = await openSearchIndexes(config, pool);
  if (!indexes.openSearch) return { searchIndex: indexes.readModel, close: async () => undefined };
  const openSearch = indexes.openSearch;
  try {
    const { created, index } = await ensureOpenSearchIndex({ client: openSearch.client, alias: openSearch.alias, synonyms: openSearch.synonyms });
    if (created) deps.log.info({ index, alias: openSearch.alias }, 'OpenSearch index created; run reindex (or reconcile) to fill it');
  } catch (error) {
    // An OpenSearch down at start-up must not keep the indexer from keeping the read model and the caches.
    deps.log.warn({ err: error }, 'OpenSearch index not checked at start-up; writes to it wait in search_index_pending until it answers');
  }
  const redrive = startPendingRedrive({
    pool,
    openSearch: openSearch.index,
    documents: (ids) => loadSearchDocumentChanges(pool, ids),
    invalidator: deps.invalidator,
    intervalMs: config.search.pendingRetryMs,
    log: deps.log,
    metrics: deps.metrics,
  });
  return {
    searchIndex: withOpenSearchCopy({ readModel: indexes.readModel, openSearch: openSearch.index, pool, log: deps.log }),
    async close() {
      await redrive.stop();
      await openSearch.close();
    },
  };
}

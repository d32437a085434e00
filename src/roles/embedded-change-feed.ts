// The embedded default of the change pipeline: without KAFKA_BROKERS the api process relays its own
// outbox to its own indexer, so `npm start` shows a write on the next read. Same relay and indexer
// code as the `relay` and `indexer` roles; only the carrier differs (docs/change-pipeline.md). With
// several api pods and no Kafka, the relay's advisory lock lets one pod relay, and its invalidations
// reach the others through Redis. Nothing here loads kafkajs: an api process without Kafka does not
// carry it.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TagInvalidator } from '../cache/change-invalidation.ts';
import type { ChangeFeedConfig, Config } from '../config.ts';
import { createChangeIndexer, type ChangeIndexer } from '../events/change-indexer.ts';
import { createPostgresDeadLetterSink } from '../events/dead-letters.ts';
import { startInProcessChangeFeed } from '../events/in-process-feed.ts';
import { createPostgresSearchIndex } from '../search/postgres-search-index.ts';
import type { Database } from '../store/database.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';
import type { SearchIndexWriter } from '../search/search-port.ts';
import { buildChangeInvalidation } from './dependencies.ts';
import { openIndexerSearchIndex } from './search-indexes.ts';
import type { ReadPath } from './read-path.ts';

export interface EmbeddedChangeFeed {
  /** Finishes the batch in flight and the second invalidations it owes, then releases the relay's lock. */
  stop(): Promise<void>;
}

/** Starts the in-process feed, or returns undefined when Kafka carries the changes (the relay and indexer roles). */
export async function startEmbeddedChangeFeed(
  config: Config,
  database: Database,
  readPath: ReadPath,
  log: Logger,
  /** What a change invalidates; the api's own cache unless given (a cluster worker tells the other workers too). */
  invalidator: TagInvalidator = readPath.cache,
): Promise<EmbeddedChangeFeed | undefined> {
  if (config.changeFeed.kafka) return undefined;
  const changes = buildChangeInvalidation(config.database, invalidator, log);
  const search = await openIndexerSearchIndex(config, database.primary, { log, metrics: readPath.metrics, invalidator: changes });
  const indexer = createInProcessIndexer({
    pool: database.primary,
    searchIndex: search.searchIndex,
    invalidator: changes,
    log,
    metrics: readPath.metrics,
    settings: config.changeFeed.indexer,
  });
  const feed = startInProcessChangeFeed({
    pool: database.primary,
    deliver: async (messages) => {
      await indexer.processBatch(messages);
    },
    log,
    metrics: readPath.metrics,
    settings: config.changeFeed.outbox,
  });
  return {
    async stop() {
      await feed.stop();
      await search.close();
      await changes.close();
    },
  };
}

/**
 * The embedded default's indexer (no Kafka): the api process's in-process feed calls its
 * processBatch. Same code after the transport; its dead letters go to the change_dead_letters table.
 * `invalidator` is the api's CatalogCache (near tier and, with Redis, the fleet's generations).
 */
export function createInProcessIndexer(options: {
  pool: pg.Pool;
  /** Absent: the PostgreSQL read model alone. */
  searchIndex?: SearchIndexWriter;
  invalidator: { invalidate(tags: readonly string[]): Promise<void> };
  log: Logger;
  metrics: Registry;
  settings: ChangeFeedConfig['indexer'];
}): ChangeIndexer {
  const { pool } = options;
  return createChangeIndexer({
    ...options,
    documents: (ids) => loadSearchDocumentChanges(pool, ids),
    searchIndex: options.searchIndex ?? createPostgresSearchIndex({ pool }),
    deadLetters: createPostgresDeadLetterSink({ pool }),
  });
}

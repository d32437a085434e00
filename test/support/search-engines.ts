// The engines the search contract suite (test/integration/search-contract.test.ts) runs against, each
// opened on a database holding the bundled catalogue and its search read model. PostgreSQL always;
// the OpenSearch engine joins this list when OPENSEARCH_URL is set (its factory indexes the same
// documents through its own writer and refreshes before reading).
import type pg from 'pg';
import { createPostgresSearchEngine } from '../../src/search/postgres-search-engine.ts';
import { createPostgresSearchIndex } from '../../src/search/postgres-search-index.ts';
import type { SearchEngine, SearchIndexWriter } from '../../src/search/search-port.ts';
import { readSynonymsFile } from '../../src/search/solr-synonyms.ts';

export interface OpenedSearchEngine {
  engine: SearchEngine;
  /** Writes through the engine's own index (the change pipeline's path). */
  writer: SearchIndexWriter;
  /** Resolves once written documents are visible to searches (OpenSearch's refresh; nothing on PostgreSQL). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface SearchEngineUnderTest {
  name: string;
  /** `pool`: a database of the test's own, with the catalogue and the PostgreSQL read model. */
  open(pool: pg.Pool): Promise<OpenedSearchEngine>;
}

export const postgresEngineUnderTest: SearchEngineUnderTest = {
  name: 'postgres',
  async open(pool) {
    return {
      engine: createPostgresSearchEngine({ pool, synonyms: await readSynonymsFile() }),
      writer: createPostgresSearchIndex({ pool }),
      settle: async () => undefined,
      close: async () => undefined,
    };
  },
};

export const searchEnginesUnderTest: SearchEngineUnderTest[] = [
  postgresEngineUnderTest,
  // ...(process.env.OPENSEARCH_URL ? [openSearchEngineUnderTest(process.env.OPENSEARCH_URL)] : []),
];

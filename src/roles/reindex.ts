// `reindex`: rebuilds search from PostgreSQL with no downtime. With OpenSearch: a new index is built
// behind the alias while the old one serves, the alias swaps in one call, changes committed meanwhile
// are caught up, the old index is deleted. Without: every product's read-model row is rewritten at its
// version (after a change of analyzers or synonyms), row by row in batches while searches go on.
import { reindexOpenSearch } from '../search/opensearch-reindex.ts';
import { rebuildSearchIndex } from '../search/search-rebuild.ts';
import { openDatabase } from './dependencies.ts';
import type { Role } from './role.ts';
import { openSearchIndexes } from './search-indexes.ts';

export const runReindex: Role = async ({ config, log, startEmbedded }) => {
  const database = await openDatabase(config, log, { migrate: false, startEmbedded });
  const indexes = await openSearchIndexes(config, database.primary);
  try {
    const started = Date.now();
    if (indexes.openSearch) {
      const result = await reindexOpenSearch({ client: indexes.openSearch.client, alias: indexes.openSearch.alias, pool: database.primary, synonyms: indexes.openSearch.synonyms });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const result = await rebuildSearchIndex({ pool: database.primary, writer: indexes.readModel, replaceSameVersion: true });
      process.stdout.write(`postgres: rewrote ${result.applied} search document(s) in ${Date.now() - started} ms\n`);
    }
    return 0;
  } finally {
    await indexes.openSearch?.close();
    await database.close();
  }
};

// `reindex`: rebuilds search from PostgreSQL with no downtime. With OpenSearch: a new index is built
// behind the alias while the old one serves, the alias swaps in one call, changes committed meanwhile
// are caught up, the old index is deleted. Without: every product's read-model row is rewritten at its
// version (after a change of analyzers or synonyms), row by row in batches while searches go on.
// A SIGTERM during the build deletes the half-built index and leaves the alias on the old one (with
// OpenSearch), or stops between two batches (without); it exits 143 either way. After the swap the
// short catch-up runs on: stopping there would leave changes unapplied to the new index.
import { reindexOpenSearch } from '../search/opensearch-reindex.ts';
import { rebuildSearchIndex } from '../search/search-rebuild.ts';
import { openDatabase } from './dependencies.ts';
import type { Role } from './role.ts';
import { runInterruptible } from './shutdown.ts';
import { openSearchIndexes } from './search-indexes.ts';

export const runReindex: Role = async ({ config, log, startEmbedded }) => {
  const database = await openDatabase(config, log, { migrate: false, startEmbedded });
  const indexes = await openSearchIndexes(config, database.primary);
  try {
    return await runInterruptible(
      { log, timeoutMs: config.shutdown.timeoutMs },
      async (signal) => {
        const started = Date.now();
        if (indexes.openSearch) {
          const { client, alias, synonyms } = indexes.openSearch;
          const result = await reindexOpenSearch({ client, alias, pool: database.primary, synonyms, signal });
          process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
          const result = await rebuildSearchIndex({ pool: database.primary, writer: indexes.readModel, replaceSameVersion: true, signal });
          process.stdout.write(`postgres: rewrote ${result.applied} search document(s) in ${Date.now() - started} ms\n`);
        }
        return 0;
      },
      (stopped) => `reindex stopped by ${stopped.reason}: ${indexes.openSearch ? 'the half-built index deleted, the alias unchanged' : 'every document rewritten so far is whole'}`,
    );
  } finally {
    await indexes.openSearch?.close();
    await database.close();
  }
};

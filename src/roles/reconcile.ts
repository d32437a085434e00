// `reconcile [--dry-run]`: compares every product's version and visibility in PostgreSQL with what
// each configured search index holds (the PostgreSQL read model always, OpenSearch when configured),
// rewrites the products that differ from their current rows, prints what it found and fixed, and
// exits 0 (1 when an index is ahead of the database, which only reindex can repair). A SIGTERM stops it
// between two ranges of ids (what it repaired stays repaired) and it exits 143.
import { reconcileSearchIndex, type ReconcileReport } from '../search/reconcile.ts';
import { openDatabase } from './dependencies.ts';
import type { Role } from './role.ts';
import { runInterruptible } from './shutdown.ts';
import { openSearchIndexes } from './search-indexes.ts';

export const runReconcile: Role = async ({ config, log, args, startEmbedded }) => {
  const dryRun = args.includes('--dry-run');
  const database = await openDatabase(config, log, { migrate: false, startEmbedded });
  const indexes = await openSearchIndexes(config, database.primary);
  const targets = [['postgres', indexes.readModel], ...(indexes.openSearch ? [['opensearch', indexes.openSearch.index] as const] : [])] as const;
  try {
    return await runInterruptible(
      { log, timeoutMs: config.shutdown.timeoutMs },
      async (signal) => {
        let ahead = 0;
        for (const [name, index] of targets) {
          const report = await reconcileSearchIndex({ pool: database.primary, index, dryRun, log, signal });
          process.stdout.write(`${describe(name, report, dryRun)}\n`);
          ahead += report.drift.ahead;
        }
        return ahead > 0 ? 1 : 0;
      },
      (stopped) => `reconcile stopped by ${stopped.reason} between two ranges; run it again to check everything`,
    );
  } finally {
    await indexes.openSearch?.close();
    await database.close();
  }
};

export function describe(engine: string, report: ReconcileReport, dryRun: boolean): string {
  const found = Object.entries(report.drift).filter(([, count]) => count > 0);
  const lines = [`${engine}: checked ${report.checked} product(s); ${found.length === 0 ? 'no drift' : found.map(([kind, count]) => `${count} ${kind}`).join(', ')}`];
  for (const [kind, ids] of Object.entries(report.examples)) lines.push(`  ${kind}: ${ids.join(', ')}${ids.length === 20 ? ', ...' : ''}`);
  lines.push(dryRun ? '  dry run: nothing written' : `  repaired ${report.repaired}`);
  if (report.drift.ahead > 0) lines.push('  the index holds versions newer than the database (restored from a backup?): run reindex');
  return lines.join('\n');
}

// `import [files...]`: the import flow. The Flipkart feed adapter reads and checks the files, the
// product writer upserts what they describe, and this role reports both, row by row. A SIGTERM stops
// it between two batches of products (each one transaction), so nothing is half-written.
import type pg from 'pg';
import type { RowProblem } from '../catalog/product-draft.ts';
import { bundledFeedFiles, readFlipkartFeed } from '../feeds/flipkart-feed.ts';
import { writeProducts, type ProductWriteResult } from '../store/product-writer.ts';
import { openDatabase } from './dependencies.ts';
import type { Role } from './role.ts';
import { runInterruptible } from './shutdown.ts';

export { bundledFeedFiles };

export interface ImportReport extends ProductWriteResult {
  rows: number;
  skipped: RowProblem[];
  drafts: number;
}

/** Reads feed files and writes every well-formed product (also the embedded database's first run). */
export async function importProducts(pool: pg.Pool, files: readonly string[], signal?: AbortSignal): Promise<ImportReport> {
  const feed = await readFlipkartFeed(files);
  const written = await writeProducts(pool, feed.products, signal);
  return {
    rows: feed.rows,
    skipped: feed.problems,
    drafts: feed.products.filter((product) => product.status === 'draft').length,
    ...written,
  };
}

export const runImport: Role = async ({ config, log, args, startEmbedded }) => {
  const files = args.length > 0 ? args : bundledFeedFiles;
  const database = await openDatabase(config, log, { migrate: true, startEmbedded });
  try {
    // On SIGTERM the import stops between two batches (each one transaction) and exits 143.
    return await runInterruptible(
      { log, timeoutMs: config.shutdown.timeoutMs },
      (signal) => reportImport(database.primary, files, signal),
      (stopped) => `import stopped by ${stopped.reason} between two batches: each product written is whole; run it again to finish (what is unchanged is skipped)`,
    );
  } finally {
    await database.close();
  }
};

async function reportImport(pool: pg.Pool, files: readonly string[], signal: AbortSignal): Promise<number> {
  const report = await importProducts(pool, files, signal);
  for (const problem of report.skipped) console.log(`skipped ${problem.file}:${problem.line}: ${problem.reason}`);
  console.log(
    `read ${report.rows} rows from ${files.length} file(s); skipped ${report.skipped.length}; ` +
      `products: ${report.products.inserted} new, ${report.products.updated} changed, ${report.products.unchanged} unchanged ` +
      `(${report.drafts} drafts without a price); variants: ${report.variants.inserted} new, ${report.variants.updated} changed, ` +
      `${report.variants.unchanged} unchanged; ${report.categories} new categories, ${report.brands} new brands`,
  );
  return 0;
}

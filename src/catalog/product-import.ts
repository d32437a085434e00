// The import flow: read feed files, keep every well-formed product, write them, and report
// what happened row by row. Used by the `import` role and by the embedded first run.
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { readFlipkartFeed } from './flipkart-feed.ts';
import type { RowProblem } from './product-draft.ts';
import { writeProducts, type ProductWriteResult } from '../store/product-writer.ts';

/** The real products bundled with the service (CC BY-SA 4.0, see data/flipkart-products/README.md). */
export const bundledFeedFiles = ['products_20k.csv', 'products_full_first999.csv'].map((name) =>
  fileURLToPath(new URL(`../../data/flipkart-products/${name}`, import.meta.url)),
);

export interface ImportReport extends ProductWriteResult {
  rows: number;
  skipped: RowProblem[];
  drafts: number;
}

export async function importProducts(pool: pg.Pool, files: readonly string[]): Promise<ImportReport> {
  const feed = await readFlipkartFeed(files);
  const written = await writeProducts(pool, feed.products);
  return {
    rows: feed.rows,
    skipped: feed.problems,
    drafts: feed.products.filter((product) => product.status === 'draft').length,
    ...written,
  };
}

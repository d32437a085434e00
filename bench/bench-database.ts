// The benchmarks' own database on the local PostgreSQL, loaded once with the bundled products.
import pg from 'pg';
import { pino } from 'pino';
import { bundledFeedFiles, importProducts } from '../src/roles/import.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase, ensureDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrator.ts';
import { createPostgresSearchEngine } from '../src/search/postgres-search-engine.ts';
import { createPostgresSearchIndex } from '../src/search/postgres-search-index.ts';
import { reconcileSearchIndex } from '../src/search/reconcile.ts';
import { rebuildSearchIndex } from '../src/search/search-rebuild.ts';
import type { SearchDocument } from '../src/catalog/search-document.ts';

const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * `fresh`: dropped first, for a benchmark that changes products (its runs must not see each other's
 * writes). BENCH_DATABASE names the default database, so helpers on one server do not migrate each
 * other's. The search read model is brought up to date (reconcile) as the indexer would leave it.
 */
export async function prepareBenchDatabase(name = process.env.BENCH_DATABASE ?? 'catalog_bench', options: { fresh?: boolean } = {}): Promise<string> {
  if (options.fresh) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => admin.end());
  }
  await ensureDatabase(serverUrl, name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const log = pino({ level: 'warn' });
  const database = createDatabase({ primary: url.toString() }, loadConfig({}).database, log);
  try {
    await migrate(database.primary, log);
    await importProducts(database.primary, bundledFeedFiles);
    const readModel = createPostgresSearchEngine({ pool: database.primary });
    await reconcileSearchIndex({ pool: database.primary, index: { write: createPostgresSearchIndex({ pool: database.primary }).write, versions: readModel.versions }, log });
    await database.primary.query('ANALYZE');
  } finally {
    await database.close();
  }
  return url.toString();
}

/**
 * `count` distinct listing URLs, most popular first (the order a Zipf draw favours): unfiltered pages,
 * then categories and brands by size, each under every sort, with price bands and stock filters mixed in.
 */
export async function listingMix(databaseUrl: string, count: number): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const categories = (await pool.query<{ slug: string }>(
      `SELECT c.slug FROM categories c
        ORDER BY (SELECT count(*) FROM products p WHERE p.category_path <@ c.path AND p.status = 'active') DESC, c.slug`,
    )).rows.map((row) => row.slug);
    const brands = (await pool.query<{ slug: string }>(
      `SELECT b.slug FROM brands b JOIN products p ON p.brand_id = b.id GROUP BY b.slug ORDER BY count(*) DESC, b.slug`,
    )).rows.map((row) => row.slug);
    const sorts = ['newest', 'price_asc', 'price_desc', 'name', 'rating'];
    const extras = ['', '&inStock=true', '&minPrice=0&maxPrice=50000', '&minPrice=50000&maxPrice=200000'];
    const urls = new Set<string>();
    for (const sort of sorts) for (const extra of extras) urls.add(`/products?sort=${sort}${extra}&limit=24`);
    for (let rank = 0; urls.size < count && (rank < categories.length || rank < brands.length); rank += 1) {
      const extra = extras[rank % extras.length] as string;
      for (const sort of sorts) {
        if (categories[rank]) urls.add(`/products?sort=${sort}&category=${categories[rank]}${extra}&limit=24`);
        if (brands[rank]) urls.add(`/products?sort=${sort}&brand=${brands[rank]}&limit=24`);
      }
    }
    return [...urls].slice(0, count);
  } finally {
    await pool.end();
  }
}

/**
 * The search read model as the indexer leaves it (documents already at their version are left
 * alone), freshly analysed, and every listed product's search document, for the relevance benches.
 */
export async function listedSearchDocuments(pool: pg.Pool): Promise<SearchDocument[]> {
  await rebuildSearchIndex({ pool, writer: createPostgresSearchIndex({ pool }) });
  await pool.query('VACUUM ANALYZE search_documents, search_words, search_names');
  const { rows } = await pool.query<{ document: SearchDocument }>('SELECT document FROM search_documents WHERE NOT removed ORDER BY product_id');
  return rows.map((row) => row.document);
}

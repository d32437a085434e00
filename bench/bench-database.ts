// The benchmarks' own database on the local PostgreSQL, loaded once with the bundled products.
import pg from 'pg';
import { pino } from 'pino';
import { bundledFeedFiles, importProducts } from '../src/catalog/product-import.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrator.ts';

const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function prepareBenchDatabase(name = 'catalog_bench'): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const log = pino({ level: 'warn' });
  const database = createDatabase({ primary: url.toString() }, loadConfig({}).database, log);
  try {
    await migrate(database.primary, log);
    await importProducts(database.primary, bundledFeedFiles);
  } finally {
    await database.close();
  }
  return url.toString();
}

/** At least `count` distinct listing URLs: sorts crossed with categories, brands, price bands and stock, plus deep pages. */
export async function listingMix(databaseUrl: string, count: number): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const categories = (await pool.query<{ slug: string }>(
      `SELECT c.slug FROM categories c ORDER BY (SELECT count(*) FROM products p WHERE p.category_path <@ c.path) DESC, c.slug LIMIT 60`,
    )).rows.map((row) => row.slug);
    const brands = (await pool.query<{ slug: string }>(
      `SELECT b.slug FROM brands b JOIN products p ON p.brand_id = b.id GROUP BY b.slug ORDER BY count(*) DESC, b.slug LIMIT 40`,
    )).rows.map((row) => row.slug);
    const sorts = ['newest', 'price_asc', 'price_desc', 'name', 'rating'];
    const priceBands = ['', '&minPrice=0&maxPrice=50000', '&minPrice=50000&maxPrice=200000', '&minPrice=200000'];
    const urls = new Set<string>();
    for (let i = 0; urls.size < count; i += 1) {
      const sort = sorts[i % sorts.length];
      const filter =
        i % 4 === 0 ? '' : i % 4 === 1 ? `&category=${categories[i % categories.length]}` : i % 4 === 2 ? `&brand=${brands[i % brands.length]}` : `&category=${categories[(i * 7) % categories.length]}&inStock=true`;
      urls.add(`/products?sort=${sort}${filter}${priceBands[Math.floor(i / 20) % priceBands.length]}&limit=24`);
      if (i > count * 20) break;
    }
    return [...urls].slice(0, count);
  } finally {
    await pool.end();
  }
}

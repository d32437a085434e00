// npm run bench:listing-totals: how far GET /products' estimated total is from the true count, over a
// sample of filters (every top-level category, 20 brands, price ranges, attribute filters and
// combinations), and what the estimate costs. The true count is a count(*) run here only.
import pg from 'pg';
import { listingTotal, type ResolvedListingFilters } from '../src/catalog/listing.ts';
import { createProductRepository } from '../src/store/product-repository.ts';
import { prepareBenchDatabase } from './bench-database.ts';
import { median } from './harness.ts';

const LIMIT = 24;
const databaseUrl = await prepareBenchDatabase();
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });

const categories = (await pool.query<{ slug: string }>(`SELECT slug FROM categories WHERE parent_id IS NULL ORDER BY id`)).rows.map((row) => row.slug);
// The 10 largest brands and 10 of middling size (ranks 50, 100, ...).
const brandRows = (await pool.query<{ slug: string }>(
  `SELECT b.slug FROM brands b JOIN products p ON p.brand_id = b.id WHERE p.status = 'active' AND p.price_min IS NOT NULL GROUP BY b.slug ORDER BY count(*) DESC, b.slug`,
)).rows.map((row) => row.slug);
const brands = [...brandRows.slice(0, 10), ...Array.from({ length: 10 }, (_, i) => brandRows[50 * (i + 1)]).filter((slug): slug is string => slug !== undefined)];
const prices = ['minPrice=0&maxPrice=50000', 'minPrice=50000&maxPrice=100000', 'minPrice=100000&maxPrice=500000', 'minPrice=500000', 'maxPrice=20000'];
const attributes = ['attr.Color=Black', 'attr.Pattern=Solid', 'attr.Ideal For=Women', 'attr.Fabric=Cotton&attr.Fabric=Polyester', 'attr.Color=Black&attr.Ideal For=Women', 'attr.Occasion=Casual'];
const combinations = [
  'category=clothing&brand=' + brandRows[0],
  'category=clothing&minPrice=50000&maxPrice=100000',
  'category=jewellery&inStock=true',
  'category=footwear&attr.Ideal For=Women',
  'category=jewellery&attr.Color=Gold',
  'category=clothing&inStock=true&maxPrice=50000',
  'category=footwear&minPrice=100000&inStock=true',
  'inStock=true',
  'inStock=false',
];
const queries = [...categories.map((slug) => `category=${slug}`), ...brands.map((slug) => `brand=${slug}`), ...prices, ...attributes, ...combinations];

// A fresh repository per query: its estimate cache must not answer.
async function filtersOf(query: string): Promise<ResolvedListingFilters> {
  const parameters = new URLSearchParams(query);
  const number = (name: string) => (parameters.has(name) ? Number(parameters.get(name)) : undefined);
  const resolved = await createProductRepository({ pool }).resolveFilters({
    category: parameters.get('category') ?? undefined,
    brand: parameters.get('brand') ?? undefined,
    minPrice: number('minPrice'),
    maxPrice: number('maxPrice'),
    inStock: parameters.has('inStock') ? parameters.get('inStock') === 'true' : undefined,
  });
  const names = [...new Set([...parameters.keys()].filter((key) => key.startsWith('attr.')))];
  return { ...resolved, attributes: names.map((name) => ({ name: name.slice(5), values: parameters.getAll(name) })) };
}

async function trueCount(filters: ResolvedListingFilters): Promise<number> {
  const where = [`status = 'active' AND price_min IS NOT NULL`];
  const params: unknown[] = [];
  if (filters.categoryPath !== undefined) where.push(`category_path <@ $${params.push(filters.categoryPath)}::ltree`);
  if (filters.brandId !== undefined) where.push(`brand_id = $${params.push(filters.brandId)}`);
  if (filters.minPrice !== undefined) where.push(`price_min >= $${params.push(filters.minPrice)}`);
  if (filters.maxPrice !== undefined) where.push(`price_min <= $${params.push(filters.maxPrice)}`);
  if (filters.inStock !== undefined) where.push(filters.inStock ? 'in_stock' : 'NOT in_stock');
  for (const filter of filters.attributes ?? []) where.push(`attributes->>$${params.push(filter.name)} = ANY($${params.push(filter.values)}::text[])`);
  return (await pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM products WHERE ${where.join(' AND ')}`, params)).rows[0]?.count ?? 0;
}

const rows: { query: string; truth: number; planner: number; answered: number; exact: boolean; ratio: number; ms: number }[] = [];
for (const query of queries) {
  const filters = await filtersOf(query);
  const repository = createProductRepository({ pool });
  const started = performance.now();
  const planner = await repository.estimateListed(filters);
  const ms = performance.now() - started;
  const truth = await trueCount(filters);
  // What the first page answers: exact when it holds the whole listing, else at least LIMIT + 1.
  const total = listingTotal(planner, Math.min(truth, LIMIT + 1), LIMIT, true);
  rows.push({ query, truth, planner: Math.round(planner), answered: total.value, exact: !total.estimate, ratio: truth === 0 ? (total.value === 0 ? 1 : Infinity) : total.value / truth, ms });
}

const timings: number[] = [];
for (let round = 0; round < 3; round += 1) {
  for (const query of queries) {
    const filters = await filtersOf(query);
    const started = performance.now();
    await createProductRepository({ pool }).estimateListed(filters);
    timings.push(performance.now() - started);
  }
}

console.table(rows.map((row) => ({ ...row, ratio: row.ratio.toFixed(2), ms: row.ms.toFixed(2) })));
const estimated = rows.filter((row) => !row.exact);
const errors = estimated.map((row) => Math.abs(Math.log(row.ratio)));
const share = (bound: number) => `${((100 * estimated.filter((row) => row.ratio <= bound && row.ratio >= 1 / bound).length) / estimated.length).toFixed(0)} %`;
console.log(`\n${rows.length} filter sets, ${rows.length - estimated.length} answered exactly (one page), ${estimated.length} estimated`);
console.log(`estimated/true among the estimated: median |error| x${Math.exp(median(errors)).toFixed(2)}, worst x${Math.exp(Math.max(...errors)).toFixed(2)}`);
console.log(`within x1.25: ${share(1.25)}, x1.5: ${share(1.5)}, x2: ${share(2)}, x4: ${share(4)}`);
const sorted = [...timings].sort((a, b) => a - b);
console.log(`estimate cost (EXPLAIN round trip, uncached): median ${median(timings).toFixed(2)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)]?.toFixed(2)} ms over ${timings.length}`);
await pool.end();

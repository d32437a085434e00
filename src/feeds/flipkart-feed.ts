// Reads the Flipkart product feed (data/flipkart-products): RFC 4180 CSV, one product per row.
// Several files may describe the same product (the 20k file has prices and categories, the
// 999-row file adds descriptions, images and specifications); later files fill in what they carry.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { slugify } from '../catalog/slug.ts';
import { UNCATEGORISED, type ProductDraft, type RowProblem } from '../catalog/product-draft.ts';

/** The real products bundled with the service (CC BY-SA 4.0, see data/flipkart-products/README.md). */
export const bundledFeedFiles = ['products_20k.csv', 'products_full_first999.csv'].map((name) =>
  fileURLToPath(new URL(`../../data/flipkart-products/${name}`, import.meta.url)),
);

const CURRENCY = 'INR';
const MAX_CATEGORY_DEPTH = 6;
const MAX_NAME_LENGTH = 500;
const NO_RATING = 'No rating available';

type FeedFields = Partial<Omit<ProductDraft, 'externalId' | 'slug' | 'variants' | 'status'>> & {
  externalId: string;
  sku?: string;
  price?: { priceMinor: number; compareAtMinor: number | null } | null;
  stock?: number;
};

export interface FeedReadResult {
  products: ProductDraft[];
  problems: RowProblem[];
  rows: number;
}

/** Reads and merges feed files; a malformed row is reported with its line and skipped, never fatal. */
export async function readFlipkartFeed(files: readonly string[]): Promise<FeedReadResult> {
  const merged = new Map<string, FeedFields>();
  const problems: RowProblem[] = [];
  let rows = 0;
  // Every file is checked before any is read: a wrong path fails the import before it writes.
  for (const file of files) {
    await access(file, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read feed file ${file}: ${error.code ?? error.message}`);
    });
  }
  // Whether a shelf such as "Pet Furniture" is a category depends on every product filed there, so
  // the trees are read once before the products are.
  const census = new CategoryShelfCensus();
  for (const file of files) {
    for await (const { record } of readRecords(file, () => undefined)) census.add(record.product_category_tree, record.product_name, record.brand);
  }
  const sharedShelves = census.sharedShelves();
  for (const file of files) {
    const name = path.basename(file);
    const fileProblems: RowProblem[] = [];
    const records = readRecords(file, (line, reason) => {
      rows += 1;
      fileProblems.push({ file: name, line, reason });
    });
    for await (const { record, info, raw } of records) {
      // info.lines is where the record ends; quoted fields may span lines before it.
      const line = info.lines - (raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
      rows += 1;
      const fields = parseFlipkartRecord(record, sharedShelves);
      if (typeof fields === 'string') {
        fileProblems.push({ file: name, line, reason: fields });
        continue;
      }
      const earlier = merged.get(fields.externalId);
      merged.set(fields.externalId, earlier ? { ...earlier, ...fields } : fields);
    }
    // Unreadable rows are reported by the parser ahead of the records before them.
    problems.push(...fileProblems.sort((a, b) => a.line - b.line));
  }
  const products = assignSkus([...merged.values()].map(toProductDraft));
  return { products, problems, rows };
}

function readRecords(
  file: string,
  onUnreadable: (line: number, reason: string) => void,
): AsyncIterable<{ record: Record<string, string>; info: { lines: number }; raw: string }> {
  return createReadStream(file).pipe(
    parse({
      columns: true,
      info: true,
      raw: true,
      bom: true,
      relax_quotes: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        onUnreadable(error?.lines ?? 0, error?.message ?? 'unreadable row');
        return undefined;
      },
    }),
  );
}

/**
 * One CSV record to the fields it carries, or the reason it is malformed. `sharedShelves` are the
 * feed's shelves that hold other brands' products too (CategoryShelfCensus).
 */
export function parseFlipkartRecord(record: Record<string, string | undefined>, sharedShelves?: ReadonlySet<string>): FeedFields | string {
  const externalId = record.uniq_id?.trim() ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(externalId)) return 'uniq_id is missing or not an id';
  const fields: FeedFields = { externalId };

  if ('product_name' in record) {
    const name = record.product_name?.replace(/\s+/g, ' ').trim() ?? '';
    if (!name) return 'product_name is empty';
    if (name.length > MAX_NAME_LENGTH) return `product_name is longer than ${MAX_NAME_LENGTH} characters`;
    fields.name = name;
  }
  if ('brand' in record) fields.brand = record.brand?.trim() || null;
  if ('pid' in record) fields.sku = record.pid?.trim() || externalId;
  if ('product_category_tree' in record) {
    const levels = parseCategoryTree(record.product_category_tree ?? '', fields.name ?? '', fields.brand ?? null, sharedShelves);
    if (levels === undefined) return 'product_category_tree is not a ["A >> B"] list';
    fields.categoryPath = levels;
  }
  if ('discounted_price' in record || 'retail_price' in record) {
    const selling = parseRupees(record.discounted_price);
    const retail = parseRupees(record.retail_price);
    if (selling === undefined) return `discounted_price "${record.discounted_price}" is not an amount`;
    if (retail === undefined) return `retail_price "${record.retail_price}" is not an amount`;
    const priceMinor = selling ?? retail;
    fields.price = priceMinor === null ? null : { priceMinor, compareAtMinor: retail !== null && retail > priceMinor ? retail : null };
  }
  if ('product_rating' in record) {
    const rating = parseRating(record.product_rating);
    if (rating === undefined) return `product_rating "${record.product_rating}" is not a rating from 0 to 5`;
    fields.rating = rating;
  }
  if ('stock' in record) {
    const stock = Number(record.stock);
    if (!Number.isInteger(stock) || stock < 0) return `stock "${record.stock}" is not a whole number of units`;
    fields.stock = stock;
  }
  if (record.description?.trim()) fields.description = record.description.trim();
  if (record.image?.trim()) fields.images = parseImages(record.image);
  if (record.product_specifications?.trim()) fields.attributes = parseSpecifications(record.product_specifications);
  if (record.crawl_timestamp?.trim()) {
    const createdAt = new Date(record.crawl_timestamp.replace(' +0000', 'Z').replace(' ', 'T'));
    if (!Number.isNaN(createdAt.getTime())) fields.createdAt = createdAt;
  }
  return fields;
}

/**
 * `["Clothing >> Women's Clothing >> Shorts >> Alisha Shorts >> Alisha Solid Shorts"]` to the real
 * category levels: the tree ends in brand shelves ("Alisha Shorts") and the product's own name,
 * sometimes cut short with "...", and those are not categories a shopper browses. A shelf in
 * `sharedShelves` holds other brands' products as well, so it is a category whatever its name.
 */
export function parseCategoryTree(tree: string, productName: string, brand: string | null, sharedShelves?: ReadonlySet<string>): string[] | undefined {
  const levels = splitCategoryTree(tree);
  if (levels === undefined) return undefined;
  const kept: string[] = [];
  for (const level of levels) {
    if (kept.length === MAX_CATEGORY_DEPTH || level === '' || level.endsWith('...')) break;
    if (namesProduct(level, productName)) break;
    const shelf = brandShelf(kept, level);
    if (shelf && namesBrand(shelf.qualifier, productName, brand) && !sharedShelves?.has(shelf.key)) break;
    if (!shelf && brand && level.toLowerCase().startsWith(`${brand.toLowerCase()} `)) break;
    kept.push(level);
  }
  return kept;
}

/**
 * Counts, for each shelf of the feed ("Pet Furniture" under "Furniture"), whether its qualifier
 * names the brand of every product filed there. A brand's shelf only ever holds that brand's
 * products; "Pet Furniture" also holds "Petshop7" beds, so "Pet Club51" beds are not a brand shelf.
 */
export class CategoryShelfCensus {
  readonly #shared = new Set<string>();

  add(tree: string | undefined, productName: string | undefined, brand: string | undefined): void {
    const levels = splitCategoryTree(tree ?? '');
    const name = productName?.replace(/\s+/g, ' ').trim() ?? '';
    for (let depth = 1; levels !== undefined && depth < levels.length; depth += 1) {
      const shelf = brandShelf(levels.slice(0, depth), levels[depth] as string);
      if (shelf && !namesBrand(shelf.qualifier, name, brand?.trim() || null) && !namesProduct(levels[depth] as string, name)) this.#shared.add(shelf.key);
    }
  }

  sharedShelves(): ReadonlySet<string> {
    return this.#shared;
  }
}

function splitCategoryTree(tree: string): string[] | undefined {
  const match = /^\s*\[\s*"(.*)"\s*\]\s*$/s.exec(tree);
  if (!match?.[1]) return tree.trim() === '' ? [] : undefined;
  return match[1].split('>>').map((level) => level.replace(/\s+/g, ' ').trim());
}

function namesProduct(level: string, productName: string): boolean {
  return productName.toLowerCase().startsWith(level.toLowerCase());
}

/**
 * A level spelled as its parent with a qualifier in front ("Gardening Tools" under "Tools"), keyed by
 * its whole path. The qualifier is either a sub-category or a brand ("Numero Uno T-Shirts").
 */
function brandShelf(parents: readonly string[], level: string): { qualifier: string; key: string } | undefined {
  const parent = parents.at(-1)?.toLowerCase();
  const lower = level.toLowerCase();
  if (parent === undefined || !lower.endsWith(` ${parent}`)) return undefined;
  return { qualifier: lower.slice(0, -parent.length - 1), key: [...parents, level].join(' >> ').toLowerCase() };
}

/**
 * Whether a shelf's qualifier is the product's brand: the brand column, or how the name begins. The
 * column alone is not enough, it is often empty or a colour ("Pink" for S4S bras), and a qualifier
 * neither is a real sub-category: "Gardening Tools" for Futaba seeds, "Formal Shirts" for Fashion Tree.
 */
function namesBrand(qualifier: string, productName: string, brand: string | null): boolean {
  const brandName = brand?.toLowerCase();
  return (brandName !== undefined && (qualifier === brandName || qualifier.startsWith(`${brandName} `))) || productName.toLowerCase().startsWith(`${qualifier} `);
}

/** Whole or decimal rupees to paise; empty is null (no price); anything else is undefined (malformed). */
function parseRupees(value: string | undefined): number | null | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return null;
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(text)) return undefined;
  return Math.round(Number(text) * 100);
}

function parseRating(value: string | undefined): number | null | undefined {
  const text = value?.trim() ?? '';
  if (text === '' || text === NO_RATING) return null;
  const rating = Number(text);
  return /^\d(\.\d+)?$/.test(text) && rating >= 0 && rating <= 5 ? Math.round(rating * 10) / 10 : undefined;
}

function parseImages(value: string): string[] {
  try {
    const urls: unknown = JSON.parse(value);
    return Array.isArray(urls) ? urls.filter((url): url is string => typeof url === 'string' && /^https?:\/\//.test(url)) : [];
  } catch {
    return [];
  }
}

/** `{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}]}` (a Ruby hash) to { Fabric: 'Cotton' }. */
export function parseSpecifications(value: string): Record<string, string> {
  try {
    const parsed = JSON.parse(value.replace(/"=>/g, '":')) as { product_specification?: unknown };
    const entries = [parsed.product_specification].flat();
    const attributes: Record<string, string> = {};
    for (const entry of entries) {
      const { key, value: text } = (entry ?? {}) as { key?: unknown; value?: unknown };
      if (typeof key === 'string' && key.trim() && typeof text === 'string') attributes[key.trim()] = text.trim();
    }
    return attributes;
  } catch {
    return {};
  }
}

function toProductDraft(fields: FeedFields): ProductDraft {
  const name = fields.name ?? fields.externalId;
  const price = fields.price ?? null;
  return {
    externalId: fields.externalId,
    // The id suffix keeps slugs unique when two products share a name, and stable across imports.
    slug: [slugify(name) || 'product', slugify(fields.externalId).slice(0, 8)].filter(Boolean).join('-'),
    name,
    description: fields.description ?? null,
    brand: fields.brand ?? null,
    categoryPath: fields.categoryPath?.length ? fields.categoryPath : [UNCATEGORISED],
    attributes: fields.attributes ?? {},
    images: fields.images ?? [],
    rating: fields.rating ?? null,
    // Without a price a product cannot be sold: it is kept as a draft, out of listings.
    status: price ? 'active' : 'draft',
    createdAt: fields.createdAt ?? null,
    variants: price
      ? [{ sku: fields.sku ?? fields.externalId, options: {}, ...price, currency: CURRENCY, stock: fields.stock ?? derivedStock(fields.externalId) }]
      : [],
  };
}

/** The feed has no stock column: derive a stable figure from the id (about 15 % sold out). */
function derivedStock(externalId: string): number {
  const bucket = createHash('sha256').update(externalId).digest().readUInt16BE(0) % 100;
  return bucket < 15 ? 0 : bucket - 14;
}

/** SKUs must be unique; the feed repeats a few `pid`s, so a repeat gets the product's id appended. */
function assignSkus(products: ProductDraft[]): ProductDraft[] {
  const seen = new Set<string>();
  for (const product of products) {
    for (const variant of product.variants) {
      if (seen.has(variant.sku)) variant.sku = `${variant.sku}-${product.externalId}`;
      seen.add(variant.sku);
    }
  }
  return products;
}

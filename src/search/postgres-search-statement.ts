// The one statement that answers a search page on the PostgreSQL engine: it finds the matches, ranks
// and pages them, counts them and their facets, and highlights the page. Filters that every facet
// shares (category, stock) narrow the scan; the others (brand, price, attributes) become flags on the
// matched rows, so each facet counts with every filter but its own.
import { CatalogError } from '../catalog/catalog-error.ts';
import {
  MAX_ATTRIBUTE_FACETS,
  MAX_FACET_VALUES,
  MIN_ATTRIBUTE_FACET_PRODUCTS,
  PRICE_BUCKETS,
  type EngineSearchResult,
  type Facets,
  type SearchHit,
  type SearchRequest,
  type SearchSort,
} from '../catalog/search.ts';
import { summaryOfDocument } from '../catalog/search-document.ts';
import { MARK_END, MARK_START, markedToHtml, searchKey, tsqueryText, type WordGroup } from './search-text.ts';

/** Matches counted exactly up to this; past it the total is a lower bound (estimate: true) and facets count these. */
export const MATCH_CAP = 10_000;

/**
 * Field weights of ts_rank_cd, in its order D, C, B, A: description, category names, brand, name.
 * Also the BM25 baseline's field boosts in bench/relevance.ts.
 */
export const FIELD_WEIGHTS = { description: 0.1, categories: 0.2, brand: 0.4, name: 1.0 } as const;
/** Added to the score when the query is the product's name, and when it names the product's brand. */
export const EXACT_NAME_BOOST = 1;
export const BRAND_BOOST = 0.1;

// Each sort but relevance: its key and direction. Values travel in cursors as float8.
const SORT_KEYS: Record<Exclude<SearchSort, 'relevance'>, { key: string; descending: boolean }> = {
  price_asc: { key: 'd.price_min::float8', descending: false },
  price_desc: { key: 'd.price_min::float8', descending: true },
  // Microseconds since 1970 are exact in a float8 for the next few centuries.
  newest: { key: '(extract(epoch FROM d.created_at) * 1000000)::float8', descending: true },
  rating: { key: 'd.rating::float8', descending: true },
};

export interface SearchStatement {
  text: string;
  values: unknown[];
}

/** The statement for one page of `request`, matching `groups` (all of them). */
export function searchStatement(request: SearchRequest, groups: readonly WordGroup[]): SearchStatement {
  const { filters, sort, limit, cursor } = request;
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;

  const query = param(tsqueryText(groups));
  const { key, descending } = sort === 'relevance' ? { key: relevanceScore(groups, param), descending: true } : SORT_KEYS[sort];

  const scan = ['NOT d.removed', 'd.search_vector @@ q.query'];
  if (filters.categoryPath !== undefined) scan.push(`d.category_ids @> ${param([Number(filters.categoryPath.split('.').at(-1))])}::integer[]`);
  if (filters.inStock !== undefined) scan.push(filters.inStock ? 'd.in_stock' : 'NOT d.in_stock');
  const price: string[] = [];
  if (filters.minPrice !== undefined) price.push(`d.price_min >= ${param(filters.minPrice)}`);
  if (filters.maxPrice !== undefined) price.push(`d.price_min <= ${param(filters.maxPrice)}`);
  const flags = [
    `${filters.brandId === undefined ? 'true' : `d.brand_id = ${param(filters.brandId)}`} AS brand_ok`,
    `${price.length === 0 ? 'true' : price.join(' AND ')} AS price_ok`,
    ...filters.attributes.map((attribute, index) => `(d.attributes->>${param(attribute.name)}) = ANY(${param(attribute.values)}::text[]) AS attribute_ok_${index}`),
  ];
  const attributeOks = filters.attributes.map((_, index) => `m.attribute_ok_${index}`);
  const all = (...except: string[]) => ['m.brand_ok', 'm.price_ok', ...attributeOks].filter((flag) => !except.includes(flag)).join(' AND ');

  const keyset: string[] = [];
  let offset = 0;
  if (cursor?.engine === 'postgres' && cursor.after !== null) {
    const [value, id] = cursor.after;
    if (typeof value !== 'number' || typeof id !== 'number' || !Number.isSafeInteger(id)) throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
    const v = param(value);
    keyset.push(`(m.sort_value ${descending ? '<' : '>'} ${v}::float8 OR (m.sort_value = ${v}::float8 AND m.id > ${param(id)}))`);
  } else if (cursor !== undefined) {
    // Another engine's cursor: the position is all the two engines share.
    offset = cursor.offset;
  }
  const direction = descending ? 'DESC' : 'ASC';
  const headline = (options: string) => `'${options}, StartSel=${MARK_START}, StopSel=${MARK_END}'`;

  const text = `
    WITH q AS (SELECT to_tsquery('english', ${query}) AS query),
    matched AS MATERIALIZED (
      SELECT d.product_id AS id, d.brand_id, d.price_min, d.category_ids, d.attributes, ${key} AS sort_value, ${flags.join(', ')}
        FROM search_documents d, q
       WHERE ${scan.join(' AND ')}
       LIMIT ${MATCH_CAP + 1}
    ),
    page AS (
      SELECT m.id, m.sort_value FROM matched m
       WHERE ${[all(), ...keyset].join(' AND ')}
       ORDER BY m.sort_value ${direction}, m.id
       LIMIT ${param(limit + 1)} OFFSET ${param(offset)}
    )
    SELECT
      (SELECT json_agg(json_build_object(
                'id', page.id, 'document', d.document, 'sort_value', page.sort_value,
                'name_highlight', ts_headline('english', d.document->>'name', q.query, ${headline('HighlightAll=true')}),
                'description_highlight', ts_headline('english', d.document->>'description', q.query, ${headline('MaxWords=30, MinWords=12, MaxFragments=1')}))
              ORDER BY page.sort_value ${direction}, page.id)
         FROM page JOIN search_documents d ON d.product_id = page.id, q) AS items,
      (SELECT count(*)::int FROM matched m WHERE ${all()}) AS total,
      (SELECT count(*)::int FROM matched) AS matched
      ${facetColumns(request, { all, attributeOks, param })}`;
  return { text, values };
}

/**
 * ts_rank_cd over the weighted fields, normalised by document length (2: divided by the length; 0, 1 and 4 ranked worse on bench:relevance),
 * plus a boost when the query is the product's name and when it holds the product's brand.
 */
function relevanceScore(groups: readonly WordGroup[], param: (value: unknown) => string): string {
  // Compared as the catalogue spells them, so a misspelt brand still gets its boost.
  const keyWords = searchKey(groups.map((group) => group.spelt).join(' ')).split(' ');
  // Every run of consecutive query words: the brand names a query can hold.
  const phrases = keyWords.flatMap((_, start) => keyWords.slice(start).map((__, length) => keyWords.slice(start, start + length + 1).join(' ')));
  const weights = `'{${FIELD_WEIGHTS.description}, ${FIELD_WEIGHTS.categories}, ${FIELD_WEIGHTS.brand}, ${FIELD_WEIGHTS.name}}'`;
  return `(ts_rank_cd(${weights}, d.search_vector, q.query, 2)
           + CASE WHEN d.name_key = ${param(keyWords.join(' '))} THEN ${EXACT_NAME_BOOST} ELSE 0 END
           + CASE WHEN d.brand_key = ANY(${param(phrases)}::text[]) THEN ${BRAND_BOOST} ELSE 0 END)::float8`;
}

function facetColumns(request: SearchRequest, { all, attributeOks, param }: { all: (...except: string[]) => string; attributeOks: string[]; param: (value: unknown) => string }): string {
  const names = new Set(request.facets);
  const columns: string[] = [];
  if (names.has('brand')) {
    columns.push(`(SELECT json_agg(json_build_object('slug', b.slug, 'name', b.name, 'count', f.count) ORDER BY f.count DESC, b.name)
        FROM (SELECT m.brand_id, count(*)::int AS count FROM matched m WHERE m.brand_id IS NOT NULL AND ${all('m.brand_ok')}
               GROUP BY m.brand_id ORDER BY count DESC, m.brand_id LIMIT ${MAX_FACET_VALUES}) f
        JOIN brands b ON b.id = f.brand_id) AS brand_facet`);
  }
  if (names.has('category')) {
    // The children of the category filtered on (the roots without one), each counting its descendants.
    const depth = request.filters.categoryPath === undefined ? 1 : request.filters.categoryPath.split('.').length + 1;
    columns.push(`(SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name, 'count', f.count) ORDER BY f.count DESC, c.name)
        FROM (SELECT m.category_ids[${depth}] AS category_id, count(*)::int AS count FROM matched m
               WHERE m.category_ids[${depth}] IS NOT NULL AND ${all()} GROUP BY 1) f
        JOIN categories c ON c.id = f.category_id) AS category_facet`);
  }
  if (names.has('price')) {
    const buckets = PRICE_BUCKETS.map(([from, to]) => `count(*) FILTER (WHERE m.price_min >= ${from}${to === null ? '' : ` AND m.price_min < ${to}`})::int`);
    columns.push(`(SELECT json_build_array(${buckets.join(', ')}) FROM matched m WHERE ${all('m.price_ok')}) AS price_facet`);
  }
  if (names.has('attributes')) {
    // A filtered attribute's values are counted without its own filter; every other one with all.
    const own = request.filters.attributes.map((attribute, index) => `WHEN ${param(attribute.name)} THEN ${all(attributeOks[index]!)}`);
    const applies = own.length === 0 ? all() : `CASE a.key ${own.join(' ')} ELSE ${all()} END`;
    columns.push(`(SELECT json_agg(json_build_object('name', t.name, 'values', t.values) ORDER BY t.products DESC, t.name)
        FROM (SELECT v.name, sum(v.count)::int AS products,
                     json_agg(json_build_object('value', v.value, 'count', v.count) ORDER BY v.count DESC, v.value) FILTER (WHERE v.rank <= ${MAX_FACET_VALUES}) AS values
                FROM (SELECT a.key AS name, a.value, count(*)::int AS count, row_number() OVER (PARTITION BY a.key ORDER BY count(*) DESC, a.value) AS rank
                        FROM matched m, jsonb_each_text(m.attributes) a WHERE m.attributes <> '{}' AND ${applies}
                       GROUP BY a.key, a.value) v
               GROUP BY v.name HAVING sum(v.count) >= ${MIN_ATTRIBUTE_FACET_PRODUCTS}
               ORDER BY products DESC, v.name LIMIT ${MAX_ATTRIBUTE_FACETS}) t) AS attribute_facet`);
  }
  return columns.map((column) => `, ${column}`).join('');
}

export interface SearchRow {
  items: ItemRow[] | null;
  total: number;
  matched: number;
  brand_facet?: Facets['brand'] | null;
  category_facet?: Facets['category'] | null;
  price_facet?: number[] | null;
  attribute_facet?: { name: string; values: { value: string; count: number }[] }[] | null;
}

interface ItemRow {
  id: number;
  document: { slug: string; name: string; brand: { slug: string; name: string } | null; image: string | null; priceMin: number; priceMax: number; currency: string; inStock: boolean; rating: number | null };
  sort_value: number;
  name_highlight: string | null;
  description_highlight: string | null;
}

/** The engine's answer from the statement's one row (didYouMean and relaxed are the engine's to set). */
export function searchResultOf(row: SearchRow, request: SearchRequest): EngineSearchResult {
  const items = row.items ?? [];
  const page = items.slice(0, request.limit);
  const last = page.at(-1);
  return {
    items: page.map(toHit),
    total: { value: row.total, estimate: row.matched > MATCH_CAP },
    facets: facetsOf(row, request),
    didYouMean: null,
    relaxed: null,
    next: items.length > request.limit && last ? { offset: (request.cursor?.offset ?? 0) + page.length, after: [last.sort_value, Number(last.id)] } : null,
  };
}

/** What a query without a single word to search for (only emoji, only punctuation) is answered. */
export function emptySearchResult(request: SearchRequest): EngineSearchResult {
  return searchResultOf({ items: null, total: 0, matched: 0 }, request);
}

function toHit(row: ItemRow): SearchHit {
  const { document } = row;
  const highlight: SearchHit['highlight'] = {};
  if (row.name_highlight !== null) highlight.name = markedToHtml(row.name_highlight);
  // ts_headline returns the description's start when no word of it matched: that is no highlight.
  if (row.description_highlight?.includes(MARK_START)) highlight.description = markedToHtml(row.description_highlight);
  return { ...summaryOfDocument(Number(row.id), document), highlight };
}

function facetsOf(row: SearchRow, request: SearchRequest): Facets {
  const facets: Facets = {};
  const names = new Set(request.facets);
  if (names.has('category')) facets.category = row.category_facet ?? [];
  if (names.has('brand')) facets.brand = row.brand_facet ?? [];
  if (names.has('price')) facets.price = PRICE_BUCKETS.map(([from, to], index) => ({ from, to, count: row.price_facet?.[index] ?? 0 }));
  if (names.has('attributes')) facets.attributes = row.attribute_facet ?? [];
  return facets;
}

// The search port's PostgreSQL engine, read side (docs/search.md): full-text search over the
// search_documents read model (migrations/0003_search.sql). A query is answered in two statements:
// the words are looked up in the vocabulary (typos widened to their nearest known spellings,
// synonyms added), then one statement finds, ranks, pages and counts the matches and their facets.
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
  type Suggestion,
} from '../catalog/search.ts';
import type { Queryable } from '../store/postgres-guard.ts';
import type { IndexedVersions, SearchEngine } from './search-port.ts';
import { MARK_END, MARK_START, highlightPrefixes, markedToHtml, queryWords, searchKey, tsqueryText, type WordGroup } from './search-text.ts';
import type { Synonyms } from './solr-synonyms.ts';

/** Matches counted exactly up to this; past it the total is a lower bound (estimate: true) and facets count these. */
export const MATCH_CAP = 10_000;
/** A known word held by fewer documents than this may be a typo that made it into some description. */
const RARE_WORD_DOCUMENTS = 3;
/** ...and is then widened only to spellings this many times more common. */
const RARE_WORD_RATIO = 20;
/** Spellings a word is widened to, at most. */
const MAX_SPELLINGS = 3;
/** Relaxed retries when nothing matches, at most. */
const MAX_RELAXED_ATTEMPTS = 3;
/** Words shorter than this are not corrected: trigrams say little about them (OpenSearch's AUTO allows no edit below 3). */
const MIN_CORRECTED_LENGTH = 3;

/** Edits allowed for a word of this length: OpenSearch's fuzziness AUTO (0 below 3 letters, 1 up to 5, then 2). */
export function allowedEdits(length: number): number {
  return length < 3 ? 0 : length <= 5 ? 1 : 2;
}

interface WordAnalysis {
  word: string;
  /** Live documents holding the word itself. */
  documents: number;
  /** Known spellings within allowedEdits, nearest and most common first. */
  spellings: { word: string; documents: number; distance: number }[];
}

interface SqlParameters {
  values: unknown[];
  param(value: unknown): string;
}

function parameters(): SqlParameters {
  const values: unknown[] = [];
  return { values, param: (value) => `$${values.push(value)}` };
}

// Each sort: its key over the matched rows (m), its direction, and how a cursor's value is typed.
const SORT_KEYS: Record<Exclude<SearchSort, 'relevance'>, { key: string; descending: boolean }> = {
  price_asc: { key: 'd.price_min::float8', descending: false },
  price_desc: { key: 'd.price_min::float8', descending: true },
  // Microseconds since 1970 are exact in a float8 for the next few centuries.
  newest: { key: '(extract(epoch FROM d.created_at) * 1000000)::float8', descending: true },
  rating: { key: 'd.rating::float8', descending: true },
};

interface PlannedQuery {
  groups: WordGroup[];
  /** The query re-spelt with known words, when some word was not known. */
  didYouMean: string | null;
  analyses: WordAnalysis[];
}

interface SearchRow {
  items: ItemRow[] | null;
  total: number;
  matched: number;
  brand_facet: Facets['brand'] | null;
  category_facet: Facets['category'] | null;
  price_facet: number[] | null;
  attribute_facet: { name: string; values: { value: string; count: number }[] }[] | null;
}

interface ItemRow {
  id: number;
  document: {
    slug: string;
    name: string;
    brand: { slug: string; name: string } | null;
    image: string | null;
    priceMin: number;
    priceMax: number;
    currency: string;
    inStock: boolean;
    rating: number | null;
  };
  sort_value: number;
  name_highlight: string | null;
  description_highlight: string | null;
}

export interface PostgresSearchEngine extends SearchEngine, IndexedVersions {}

export function createPostgresSearchEngine({ pool, synonyms = new Map() }: { pool: Queryable; synonyms?: Synonyms }): PostgresSearchEngine {
  async function analyse(words: readonly string[]): Promise<WordAnalysis[]> {
    // One round trip for all words: each word's document count and, for unknown or rare words, the
    // nearest known spellings by trigram distance (KNN on the GiST index), kept within the edits
    // allowed for the word's length.
    const { rows } = await pool.query<{ word: string; documents: number; spellings: WordAnalysis['spellings'] }>(
      `SELECT q.word, coalesce(k.documents, 0) AS documents,
              coalesce((SELECT json_agg(json_build_object('word', c.word, 'documents', c.documents, 'distance', c.distance)
                                        ORDER BY c.distance, c.documents DESC, c.word)
                          FROM (SELECT w.word, w.documents, levenshtein(w.word, q.word) AS distance
                                  FROM search_words w
                                 WHERE w.documents > 0 AND w.word <> q.word
                                 ORDER BY w.word <-> q.word LIMIT 40) c
                         WHERE c.distance <= $2 + (length(q.word) > 5)::int
                           AND c.documents >= greatest(1, coalesce(k.documents, 0) * $3)), '[]') AS spellings
         FROM unnest($1::text[]) WITH ORDINALITY AS q(word, position)
         LEFT JOIN search_words k ON k.word = q.word
        WHERE length(q.word) >= $4 AND coalesce(k.documents, 0) < $5
       UNION ALL
       SELECT q.word, coalesce(k.documents, 0), '[]'
         FROM unnest($1::text[]) AS q(word)
         LEFT JOIN search_words k ON k.word = q.word
        WHERE NOT (length(q.word) >= $4 AND coalesce(k.documents, 0) < $5)`,
      [words, 1, RARE_WORD_RATIO, MIN_CORRECTED_LENGTH, RARE_WORD_DOCUMENTS],
    );
    const byWord = new Map(rows.map((row) => [row.word, row]));
    return words.map((word) => {
      const row = byWord.get(word);
      const documents = Number(row?.documents ?? 0);
      const spellings = (row?.spellings ?? []).filter((spelling) => spelling.distance <= allowedEdits(word.length));
      return { word, documents, spellings };
    });
  }

  async function plan(words: readonly string[], prefixLast: boolean): Promise<PlannedQuery> {
    const analyses = await analyse(words);
    const spelt: string[] = [];
    const groups = analyses.map((analysis, index): WordGroup => {
      const equivalents = synonyms.get(analysis.word);
      const alternatives: string[][] = [...(equivalents ?? [[analysis.word]])].map((words) => [...words]);
      // A word the synonyms file knows is no typo: its synonyms stand for it.
      const nearest = equivalents !== undefined ? [] : analysis.spellings.filter((spelling) => spelling.distance === analysis.spellings[0]?.distance).slice(0, MAX_SPELLINGS);
      for (const spelling of nearest) {
        alternatives.push([spelling.word]);
        for (const synonym of synonyms.get(spelling.word) ?? []) alternatives.push([...synonym]);
      }
      spelt.push(analysis.documents === 0 && nearest[0] ? nearest[0].word : analysis.word);
      const last = index === analyses.length - 1;
      return { word: analysis.word, alternatives, prefix: prefixLast && last && analysis.word.length >= 2 };
    });
    const didYouMean = spelt.some((word, index) => word !== words[index]) ? spelt.join(' ') : null;
    return { groups, didYouMean, analyses };
  }

  async function run(request: SearchRequest, groups: readonly WordGroup[], words: readonly string[]): Promise<EngineSearchResult> {
    const { filters, sort, limit, cursor } = request;
    const p = parameters();
    const query = `to_tsquery('english', ${p.param(tsqueryText(groups))})`;
    const keyWords = searchKey(words.join(' ')).split(' ');
    const queryKey = p.param(keyWords.join(' '));
    // Every run of consecutive query words: the brand keys a query can name.
    const phrases = p.param(keyWords.flatMap((_, start) => keyWords.slice(start).map((__, length) => keyWords.slice(start, start + length + 1).join(' '))));

    // Filters every facet shares go into the scan; the others become flags, so each facet can count
    // with every filter but its own.
    const scan = ['NOT d.removed', `d.search_vector @@ q.query`];
    if (filters.categoryPath !== undefined) scan.push(`d.category_ids @> ${p.param([categoryIdOf(filters.categoryPath)])}::integer[]`);
    if (filters.inStock !== undefined) scan.push(filters.inStock ? 'd.in_stock' : 'NOT d.in_stock');
    const priceConditions: string[] = [];
    if (filters.minPrice !== undefined) priceConditions.push(`d.price_min >= ${p.param(filters.minPrice)}`);
    if (filters.maxPrice !== undefined) priceConditions.push(`d.price_min <= ${p.param(filters.maxPrice)}`);
    const brandOk = filters.brandId === undefined ? 'true' : `d.brand_id = ${p.param(filters.brandId)}`;
    const priceOk = priceConditions.length === 0 ? 'true' : priceConditions.join(' AND ');
    const attributeOks = filters.attributes.map(
      (attribute, index) => `(d.attributes->>${p.param(attribute.name)}) = ANY(${p.param(attribute.values)}::text[]) AS attribute_ok_${index}`,
    );
    const attributeFlag = (index: number) => `m.attribute_ok_${index}`;
    const allAttributes = filters.attributes.map((_, index) => attributeFlag(index));
    const everyFilter = ['m.brand_ok', 'm.price_ok', ...allAttributes].join(' AND ');
    const exceptAttribute = (except: number) => ['m.brand_ok', 'm.price_ok', ...allAttributes.filter((_, index) => index !== except)].join(' AND ');

    // The score: ts_rank_cd over the weighted fields (name A, brand B, categories C, description D),
    // normalised by document length (1: divide by 1 + log(length)), plus a boost when the name is the
    // query and when the query names the product's brand.
    const score = `(ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', d.search_vector, q.query, 1)
                    + CASE WHEN d.name_key = ${queryKey} THEN 1 ELSE 0 END
                    + CASE WHEN d.brand_key = ANY(${phrases}::text[]) THEN 0.1 ELSE 0 END)::float8`;
    const { key: sortKey, descending } = sort === 'relevance' ? { key: score, descending: true } : SORT_KEYS[sort];
    const key = 'm.sort_value';
    const keyset: string[] = [];
    let offset = 0;
    if (cursor !== undefined) {
      if (cursor.engine === 'postgres' && cursor.after !== null) {
        const [value, id] = cursor.after;
        if (typeof value !== 'number' || typeof id !== 'number' || !Number.isSafeInteger(id)) throw new CatalogError('invalid-cursor', 'cursor is not one this service issued');
        const v = p.param(value);
        keyset.push(`(${key} ${descending ? '<' : '>'} ${v}::float8 OR (${key} = ${v}::float8 AND m.id > ${p.param(id)}))`);
      } else {
        // Another engine's cursor: its position is all the two engines share.
        offset = cursor.offset;
      }
    }
    const facetNames = new Set(request.facets);
    const categoryDepth = filters.categoryPath === undefined ? 0 : filters.categoryPath.split('.').length;

    const facetSelects: string[] = [];
    if (facetNames.has('brand')) {
      facetSelects.push(`(SELECT json_agg(json_build_object('slug', b.slug, 'name', b.name, 'count', f.count) ORDER BY f.count DESC, b.name)
           FROM (SELECT m.brand_id, count(*)::int AS count FROM matched m
                  WHERE m.brand_id IS NOT NULL AND ${['m.price_ok', ...allAttributes].join(' AND ')}
                  GROUP BY m.brand_id ORDER BY count DESC, m.brand_id LIMIT ${MAX_FACET_VALUES}) f
           JOIN brands b ON b.id = f.brand_id) AS brand_facet`);
    }
    if (facetNames.has('category')) {
      facetSelects.push(`(SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name, 'count', f.count) ORDER BY f.count DESC, c.name)
           FROM (SELECT m.category_ids[${categoryDepth + 1}] AS category_id, count(*)::int AS count FROM matched m
                  WHERE m.category_ids[${categoryDepth + 1}] IS NOT NULL AND ${everyFilter}
                  GROUP BY 1) f
           JOIN categories c ON c.id = f.category_id) AS category_facet`);
    }
    if (facetNames.has('price')) {
      const buckets = PRICE_BUCKETS.map(([from, to]) => `count(*) FILTER (WHERE m.price_min >= ${from}${to === null ? '' : ` AND m.price_min < ${to}`})::int`);
      facetSelects.push(`(SELECT json_build_array(${buckets.join(', ')}) FROM matched m WHERE ${['m.brand_ok', ...allAttributes].join(' AND ')}) AS price_facet`);
    }
    if (facetNames.has('attributes')) {
      // A filtered attribute's values are counted without its own filter; every other one with all.
      const filterOf = filters.attributes.map((attribute, index) => `WHEN ${p.param(attribute.name)} THEN ${exceptAttribute(index)}`);
      const applies = filterOf.length === 0 ? everyFilter : `CASE a.key ${filterOf.join(' ')} ELSE ${everyFilter} END`;
      facetSelects.push(`(SELECT json_agg(json_build_object('name', t.name, 'values', t.values) ORDER BY t.products DESC, t.name)
           FROM (SELECT v.name, sum(v.count)::int AS products,
                        (json_agg(json_build_object('value', v.value, 'count', v.count) ORDER BY v.count DESC, v.value)
                           FILTER (WHERE v.rank <= ${MAX_FACET_VALUES})) AS values
                   FROM (SELECT a.key AS name, a.value, count(*)::int AS count,
                                row_number() OVER (PARTITION BY a.key ORDER BY count(*) DESC, a.value) AS rank
                           FROM matched m, jsonb_each_text(m.attributes) a
                          WHERE ${applies}
                          GROUP BY a.key, a.value) v
                  GROUP BY v.name
                 HAVING sum(v.count) >= ${MIN_ATTRIBUTE_FACET_PRODUCTS}
                  ORDER BY products DESC, v.name LIMIT ${MAX_ATTRIBUTE_FACETS}) t) AS attribute_facet`);
    }

    const sql = `
      WITH q AS (SELECT ${query} AS query),
      matched AS MATERIALIZED (
        SELECT d.product_id AS id, d.brand_id, d.price_min, d.category_ids, d.attributes, ${sortKey} AS sort_value,
               ${brandOk} AS brand_ok, ${priceOk} AS price_ok${attributeOks.map((ok) => `, ${ok}`).join('')}
          FROM search_documents d, q
         WHERE ${scan.join(' AND ')}
         LIMIT ${MATCH_CAP + 1}
      ),
      page AS (
        SELECT m.id, ${key} AS sort_value FROM matched m
         WHERE ${[everyFilter, ...keyset].join(' AND ')}
         ORDER BY ${key} ${descending ? 'DESC' : 'ASC'}, m.id
         LIMIT ${p.param(limit + 1)} OFFSET ${p.param(offset)}
      )
      SELECT
        (SELECT json_agg(json_build_object(
                  'id', page.id, 'document', d.document, 'sort_value', page.sort_value,
                  'name_highlight', ts_headline('english', d.document->>'name', q.query, 'HighlightAll=true, StartSel=${MARK_START}, StopSel=${MARK_END}'),
                  'description_highlight', CASE WHEN d.document->>'description' IS NULL THEN NULL ELSE
                    ts_headline('english', d.document->>'description', q.query, 'MaxWords=30, MinWords=12, MaxFragments=1, StartSel=${MARK_START}, StopSel=${MARK_END}') END)
                ORDER BY page.sort_value ${descending ? 'DESC' : 'ASC'}, page.id)
           FROM page JOIN search_documents d ON d.product_id = page.id, q) AS items,
        (SELECT count(*)::int FROM matched m WHERE ${everyFilter}) AS total,
        (SELECT count(*)::int FROM matched) AS matched
        ${facetSelects.map((select) => `, ${select}`).join('')}`;
    const { rows } = await pool.query<SearchRow>(sql, p.values);
    const row = rows[0]!;
    const itemRows = row.items ?? [];
    const page = itemRows.slice(0, limit);
    const last = page.at(-1);
    const capped = row.matched > MATCH_CAP;
    return {
      items: page.map(toHit),
      total: { value: row.total, estimate: capped },
      facets: toFacets(row, request),
      didYouMean: null,
      relaxed: null,
      next: itemRows.length > limit && last ? { offset: (cursor?.offset ?? 0) + page.length, after: [last.sort_value, last.id] } : null,
    };
  }

  async function search(request: SearchRequest): Promise<EngineSearchResult> {
    const words = queryWords(request.q);
    if (words.length === 0) return emptyResult(request);
    const planned = await plan(words, true);
    const result = await run(request, planned.groups, words);
    if (result.total.value > 0 || request.cursor !== undefined) return { ...result, didYouMean: planned.didYouMean };
    // Nothing matched every word: drop the least important ones, one more per attempt, until
    // something matches. Least important first: words the catalogue does not know at all (no
    // spelling within reach), then the most common ones (they narrow the least).
    const order = planned.groups
      .map((group, index) => ({ index, analysis: planned.analyses[index]! }))
      .sort((a, b) => unknownRank(a.analysis) - unknownRank(b.analysis) || b.analysis.documents - a.analysis.documents || b.index - a.index);
    for (let dropped = 1; dropped <= Math.min(MAX_RELAXED_ATTEMPTS, words.length - 1); dropped += 1) {
      const droppedIndexes = new Set(order.slice(0, dropped).map((entry) => entry.index));
      const kept = planned.groups.filter((_, index) => !droppedIndexes.has(index));
      const keptWords = kept.map((group) => group.word);
      const relaxed = await run(request, kept, keptWords);
      if (relaxed.total.value > 0) {
        return {
          ...relaxed,
          didYouMean: planned.didYouMean,
          relaxed: { query: keptWords.join(' '), dropped: planned.groups.filter((_, index) => droppedIndexes.has(index)).map((group) => group.word) },
        };
      }
    }
    return { ...result, didYouMean: planned.didYouMean };
  }

  async function suggest(q: string, limit: number): Promise<Suggestion[]> {
    const words = queryWords(q);
    if (words.length === 0) return [];
    const p = parameters();
    const query = `to_tsquery('simple', ${p.param(tsqueryText(words.map((word, index) => ({ word, alternatives: index === words.length - 1 ? [] : [[word]], prefix: index === words.length - 1 }))))})`;
    const folded = p.param(`${words.join(' ')}%`);
    const each = p.param(limit);
    // Names that start with what was typed come first, then the most carried (brands, categories)
    // or best rated (products); products with one name (sizes, colours) are suggested once.
    const { rows } = await pool.query<{ kind: Suggestion['kind']; text: string; slug: string }>(
      `WITH q AS (SELECT ${query} AS query)
       (SELECT 'brand' AS kind, n.name AS text, n.slug FROM search_names n, q
         WHERE n.kind = 'brand' AND n.documents > 0 AND n.name_vector @@ q.query
         ORDER BY search_fold(n.name) LIKE ${folded} DESC, n.documents DESC, n.slug LIMIT ${each})
       UNION ALL
       (SELECT 'category', n.name, n.slug FROM search_names n, q
         WHERE n.kind = 'category' AND n.documents > 0 AND n.name_vector @@ q.query
         ORDER BY search_fold(n.name) LIKE ${folded} DESC, n.documents DESC, n.slug LIMIT ${each})
       UNION ALL
       (SELECT 'product', s.name, s.slug FROM (
          SELECT DISTINCT ON (d.name_folded) d.document->>'name' AS name, d.document->>'slug' AS slug,
                 d.name_folded LIKE ${folded} AS starts, d.rating, d.product_id
            FROM search_documents d, q
           WHERE NOT d.removed AND d.name_vector @@ q.query
           ORDER BY d.name_folded, d.rating DESC, d.product_id
           LIMIT 200) s
         ORDER BY s.starts DESC, s.rating DESC, s.product_id LIMIT ${each})`,
      p.values,
    );
    // A few brands and categories, then products; whatever one kind lacks, the others fill.
    const byKind = (kind: Suggestion['kind']) => rows.filter((row) => row.kind === kind);
    const share = Math.max(1, Math.floor(limit / 4));
    const brands = byKind('brand');
    const categories = byKind('category');
    const products = byKind('product');
    const chosen = [...brands.slice(0, share), ...categories.slice(0, share)];
    chosen.push(...products.slice(0, limit - chosen.length));
    for (const rest of [brands.slice(share), categories.slice(share)]) chosen.push(...rest.slice(0, limit - chosen.length));
    return chosen.slice(0, limit).map((row) => ({ kind: row.kind, text: row.text, slug: row.slug, highlight: highlightPrefixes(row.text, words) }));
  }

  return {
    name: 'postgres',
    search,
    suggest,
    async versions(fromId, toId) {
      const { rows } = await pool.query<{ product_id: string; version: string; removed: boolean }>(
        'SELECT product_id, version, removed FROM search_documents WHERE product_id BETWEEN $1 AND $2',
        [fromId, toId],
      );
      return new Map(rows.map((row) => [Number(row.product_id), { version: Number(row.version), removed: row.removed }]));
    },
  };
}

function unknownRank(analysis: WordAnalysis): number {
  return analysis.documents === 0 && analysis.spellings.length === 0 ? 0 : 1;
}

function categoryIdOf(path: string): number {
  return Number(path.split('.').at(-1));
}

function toHit(row: ItemRow): SearchHit {
  const document = row.document;
  const highlight: SearchHit['highlight'] = {};
  if (row.name_highlight !== null) highlight.name = markedToHtml(row.name_highlight);
  if (row.description_highlight !== null && row.description_highlight.includes(MARK_START)) highlight.description = markedToHtml(row.description_highlight);
  return {
    id: Number(row.id),
    slug: document.slug,
    name: document.name,
    brand: document.brand === null ? null : { slug: document.brand.slug, name: document.brand.name },
    image: document.image,
    price: { min: document.priceMin, max: document.priceMax, currency: document.currency },
    inStock: document.inStock,
    rating: document.rating,
    highlight,
  };
}

function toFacets(row: SearchRow, request: SearchRequest): Facets {
  const facets: Facets = {};
  const names = new Set(request.facets);
  if (names.has('category')) facets.category = row.category_facet ?? [];
  if (names.has('brand')) facets.brand = row.brand_facet ?? [];
  if (names.has('price')) facets.price = PRICE_BUCKETS.map(([from, to], index) => ({ from, to, count: row.price_facet?.[index] ?? 0 }));
  if (names.has('attributes')) facets.attributes = row.attribute_facet ?? [];
  return facets;
}

function emptyResult(request: SearchRequest): EngineSearchResult {
  return {
    items: [],
    total: { value: 0, estimate: false },
    facets: toFacets({ items: null, total: 0, matched: 0, brand_facet: null, category_facet: null, price_facet: null, attribute_facet: null }, request),
    didYouMean: null,
    relaxed: null,
    next: null,
  };
}

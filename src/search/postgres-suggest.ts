// Suggestions on the PostgreSQL engine: brands, categories and product names holding every typed
// word, the last one as a prefix ("samsung gal" -> "Samsung Galaxy ..."), over indexed name vectors.
import { mixSuggestions, type Suggestion } from '../catalog/search.ts';
import { highlightPrefixes, tsqueryText } from './search-text.ts';

/** Product names considered per kind of match, at most. */
const CANDIDATES = 100;
/** Shortest typed text whose words are completed inside names, not only at their start. */
const MIN_WORD_PREFIX = 3;

export interface SuggestionRow {
  kind: Suggestion['kind'];
  text: string;
  slug: string;
}

/**
 * Up to `limit` of each kind. Names that start with what was typed come first, then the most carried
 * (brands, categories) or the best rated (products); products sharing a name (sizes, colours) are
 * suggested once.
 */
export function suggestStatement(words: readonly string[], limit: number): { text: string; values: unknown[] } {
  const last = words.length - 1;
  // One or two letters start a word in most names: only names starting with them are looked at.
  const wordPrefixes = words.join(' ').length >= MIN_WORD_PREFIX;
  const query = tsqueryText(words.map((word, index) => ({ word, spelt: word, alternatives: index === last ? [] : [[word]], prefix: index === last })));
  return {
    text: `WITH q AS (SELECT to_tsquery('simple', $1) AS query)
      (SELECT 'brand' AS kind, n.name AS text, n.slug FROM search_names n, q
        WHERE n.kind = 'brand' AND n.documents > 0 AND n.name_vector @@ q.query
        ORDER BY n.name_key LIKE $2 DESC, n.documents DESC, n.slug LIMIT $3)
      UNION ALL
      (SELECT 'category', n.name, n.slug FROM search_names n, q
        WHERE n.kind = 'category' AND n.documents > 0 AND n.name_vector @@ q.query
        ORDER BY n.name_key LIKE $2 DESC, n.documents DESC, n.slug LIMIT $3)
      UNION ALL
      (SELECT 'product', s.document->>'name', s.document->>'slug' FROM (
         SELECT DISTINCT ON (c.name_key) c.* FROM (
           -- Names starting with the prefix (a btree range), then names with a word starting with it;
           -- each bounded, so a one-letter prefix costs what a long one does.
           (SELECT d.name_key, d.document, true AS starts, d.rating, d.product_id FROM search_documents d
             WHERE NOT d.removed AND d.name_key LIKE $2 ORDER BY d.name_key LIMIT ${CANDIDATES})
           ${wordPrefixes ? `UNION ALL
           (SELECT d.name_key, d.document, false, d.rating, d.product_id FROM search_documents d, q
             WHERE NOT d.removed AND d.name_vector @@ q.query LIMIT ${CANDIDATES})` : ''}) c
          ORDER BY c.name_key, c.starts DESC, c.rating DESC, c.product_id) s
        ORDER BY s.starts DESC, s.rating DESC, s.product_id LIMIT $3)`,
    values: [query, `${escapeLike(words.join(' '))}%`, limit],
  };
}

/** The rows as suggestions, in the order both engines give (mixSuggestions). */
export function suggestionsOf(rows: readonly SuggestionRow[], words: readonly string[], limit: number): Suggestion[] {
  const of = (kind: Suggestion['kind']) => rows.filter((row) => row.kind === kind);
  return mixSuggestions(of('brand'), of('category'), of('product'), limit).map((row) => ({ kind: row.kind, text: row.text, slug: row.slug, highlight: highlightPrefixes(row.text, words) }));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

// What a query's words stand for in the PostgreSQL engine: each word, its spellings within reach
// when the catalogue does not know it (typo tolerance), its synonyms, and the query re-spelt.
import type { Queryable } from '../store/postgres-guard.ts';
import { MAX_QUERY_WORDS, type WordGroup } from './search-text.ts';
import type { Synonyms } from './solr-synonyms.ts';

/** A known word held by fewer documents than this may be a typo that made it into some description... */
const RARE_WORD_DOCUMENTS = 3;
/** ...and is then widened only to spellings this many times more common. */
const RARE_WORD_RATIO = 20;
/** Spellings a word is widened to, at most. */
const MAX_SPELLINGS = 5;

/** Edits allowed for a word of this length: OpenSearch's fuzziness AUTO (0 below 3 letters, 1 up to 5, then 2). */
export function allowedEdits(length: number): number {
  return length < 3 ? 0 : length <= 5 ? 1 : 2;
}

export interface WordAnalysis {
  word: string;
  /** Live documents holding the word itself. */
  documents: number;
  /** Known spellings within allowedEdits, nearest and most common first. */
  spellings: { word: string; documents: number; distance: number }[];
}

export interface QueryPlan {
  analyses: WordAnalysis[];
  groups: WordGroup[];
  /** The query re-spelt with known words, when some word was not known. */
  didYouMean: string | null;
}

// The token types of PostgreSQL's default parser that are words a shopper searches for (ts_token_type):
// words, numbers, hyphenated compounds whole (not their parts), hosts, files, versions.
const WORD_TOKENS = [1, 2, 3, 4, 6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22];
// Of those, the ones made of letters only: only they are corrected (a model number is meant as typed).
const LETTER_TOKENS = [1, 2, 16, 17];

/**
 * The query's words, split by the same parser that built the vocabulary and the tsvector (so "1.2",
 * "t-shirt" and "sq/mm" are one word on both sides), each with its document count and, for a word of
 * letters the catalogue does not know (or barely knows), the known spellings within the edits allowed
 * for its length (levenshtein_less_equal over the words of a near length: a scan of a few thousand
 * short strings, faster here than trigram KNN and blind to no typo). One round trip.
 */
export async function analyseQuery(pool: Queryable, q: string): Promise<WordAnalysis[]> {
  const { rows } = await pool.query<{ word: string; documents: number; spellings: WordAnalysis['spellings'] }>(
    `WITH token AS (
       SELECT t.token AS word, min(t.position) AS position, bool_and(t.tokid = ANY($3::int[])) AS letters
         FROM ts_parse('default', search_fold($1)) WITH ORDINALITY AS t(tokid, token, position)
        WHERE t.tokid = ANY($2::int[])
        GROUP BY t.token
        ORDER BY position LIMIT ${MAX_QUERY_WORDS})
     SELECT q.word, coalesce(k.documents, 0) AS documents,
            CASE WHEN q.letters AND length(q.word) >= 3 AND coalesce(k.documents, 0) < ${RARE_WORD_DOCUMENTS} THEN
              coalesce((SELECT json_agg(json_build_object('word', c.word, 'documents', c.documents, 'distance', c.distance)
                                        ORDER BY c.distance, c.documents DESC, c.word)
                          FROM (SELECT w.word, w.documents, levenshtein_less_equal(w.word, q.word, q.edits) AS distance
                                  FROM search_words w
                                 WHERE length(w.word) BETWEEN length(q.word) - q.edits AND length(q.word) + q.edits
                                   AND w.documents >= greatest(1, coalesce(k.documents, 0) * ${RARE_WORD_RATIO}) AND w.word <> q.word) c
                         WHERE c.distance <= q.edits), '[]')
            ELSE '[]' END AS spellings
       FROM (SELECT token.*, CASE WHEN length(token.word) <= 5 THEN 1 ELSE 2 END AS edits FROM token) q
       LEFT JOIN search_words k ON k.word = q.word
      ORDER BY q.position`,
    [q, WORD_TOKENS, LETTER_TOKENS],
  );
  return rows.map((row) => ({
    word: row.word,
    documents: Number(row.documents),
    spellings: row.spellings.filter((spelling) => spelling.distance <= allowedEdits([...row.word].length)),
  }));
}

/**
 * Each word becomes a group of alternatives: the word (or its synonyms), plus its nearest spellings
 * when the catalogue does not know it. The last word, when unknown, may also be a word still being
 * typed: it matches as a prefix too. A known last word does not (a shopper who typed "jewel" did not
 * mean "jewellery").
 */
export function planQuery(analyses: readonly WordAnalysis[], synonyms: Synonyms): QueryPlan {
  const spelt: string[] = [];
  const groups = analyses.map((analysis, index): WordGroup => {
    const equivalents = synonyms.get(analysis.word);
    const alternatives: string[][] = (equivalents ?? [[analysis.word]]).map((words) => [...words]);
    // A word the synonyms file knows is no typo: its synonyms stand for it.
    const closest = analysis.spellings[0]?.distance;
    const nearest = equivalents !== undefined ? [] : analysis.spellings.filter((spelling) => spelling.distance === closest).slice(0, MAX_SPELLINGS);
    for (const spelling of nearest) {
      alternatives.push([spelling.word]);
      for (const synonym of synonyms.get(spelling.word) ?? []) alternatives.push([...synonym]);
    }
    spelt.push(analysis.documents === 0 && nearest[0] ? nearest[0].word : analysis.word);
    const last = index === analyses.length - 1;
    return { word: analysis.word, spelt: spelt.at(-1)!, alternatives, prefix: last && analysis.documents === 0 && [...analysis.word].length >= 2 };
  });
  const didYouMean = spelt.some((word, index) => word !== analyses[index]!.word) ? spelt.join(' ') : null;
  return { analyses: [...analyses], groups, didYouMean };
}

/**
 * Which words a relaxed retry drops first: words the catalogue does not know at all (no spelling
 * within reach), then the most common ones (they narrow the result least), later words before
 * earlier ones on a tie. Returns word positions in dropping order.
 */
export function droppingOrder(analyses: readonly WordAnalysis[]): number[] {
  const unknown = (analysis: WordAnalysis) => analysis.documents === 0 && analysis.spellings.length === 0;
  return analyses
    .map((analysis, index) => ({ analysis, index }))
    .sort((a, b) => Number(unknown(b.analysis)) - Number(unknown(a.analysis)) || b.analysis.documents - a.analysis.documents || b.index - a.index)
    .map(({ index }) => index);
}

// The text side of the PostgreSQL engine that needs no database: a query's words as the read model
// folds them, the tsquery they become, and highlights that are safe to put in HTML.

/** More words than this are not searched for (a 200-character query could hold 100). */
export const MAX_QUERY_WORDS = 12;

/** What a highlight's match is wrapped in before escaping; characters no product text carries. */
export const MARK_START = '\uE000';
export const MARK_END = '\uE001';

/** Lower case, accents and other combining marks removed: close to search_fold (unaccent + lower) in SQL. */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

/**
 * The words of a query as the read model's vocabulary holds them: folded runs of letters and digits,
 * hyphenated compounds kept whole ("t-shirt": PostgreSQL's parser indexes the compound and its parts,
 * and the parts alone would find every shirt).
 */
export function queryWords(q: string): string[] {
  return (foldText(q).match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? []).slice(0, MAX_QUERY_WORDS);
}

/** Folded words joined by single spaces, as search_key() in SQL: what exact name and brand matches compare. */
export function searchKey(text: string): string {
  return (foldText(text).match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
}

/** One query word and what may stand for it: itself, spellings within reach, synonyms (several words each). */
export interface WordGroup {
  word: string;
  /** The word as the catalogue most likely knows it: itself, or its nearest spelling when unknown. */
  spelt: string;
  alternatives: readonly (readonly string[])[];
  /** Also match words starting with `word` (the last word, maybe still being typed). */
  prefix: boolean;
}

/**
 * The to_tsquery text: every group must match (&), any alternative within a group (|), a synonym of
 * several words as a phrase (<->). Each word is quoted, so nothing in it is read as an operator.
 */
export function tsqueryText(groups: readonly WordGroup[]): string {
  return groups
    .map((group) => {
      const terms = [...new Set(group.alternatives.map((words) => words.map(quoteLexeme).join(' <-> ')))];
      if (group.prefix) terms.push(`${quoteLexeme(group.word)}:*`);
      return `(${terms.join(' | ')})`;
    })
    .join(' & ');
}

/** A word as a quoted to_tsquery operand: quotes doubled, backslashes escaped. */
export function quoteLexeme(word: string): string {
  return `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/** Text whose matches are wrapped in MARK_START/MARK_END (ts_headline's marks), escaped, with <em> around the matches. */
export function markedToHtml(marked: string): string {
  return escapeHtml(marked).replaceAll(MARK_START, '<em>').replaceAll(MARK_END, '</em>');
}

/**
 * `text` escaped, with the start of each of its words that begins with one of `words` wrapped in
 * <em></em> (a suggestion's highlight: what has been typed so far).
 */
export function highlightPrefixes(text: string, words: readonly string[]): string {
  if (words.length === 0) return escapeHtml(text);
  let html = '';
  let last = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu)) {
    const token = match[0];
    const folded = foldText(token);
    const typed = words.filter((word) => folded.startsWith(word)).sort((a, b) => b.length - a.length)[0];
    if (typed === undefined) continue;
    // The shortest start of the token that folds to the typed word (folding may drop marks).
    let end = 1;
    while (end < token.length && foldText(token.slice(0, end)).length < typed.length) end += 1;
    html += escapeHtml(text.slice(last, match.index)) + '<em>' + escapeHtml(token.slice(0, end)) + '</em>';
    last = match.index + end;
  }
  return html + escapeHtml(text.slice(last));
}

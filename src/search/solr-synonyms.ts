// The synonyms file both engines read (src/search/synonyms.txt), in Solr's format: "a, b, c" makes
// the terms equivalent; "a, b => c" makes a query for a or b search for c instead; # starts a comment.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { queryWords } from './search-text.ts';

export const SYNONYMS_FILE = fileURLToPath(new URL('./synonyms.txt', import.meta.url));

/** A query word -> what it also (or, for "=>" rules, instead) searches for, each a sequence of words. */
export type Synonyms = ReadonlyMap<string, readonly (readonly string[])[]>;

export function parseSynonyms(text: string): Synonyms {
  const synonyms = new Map<string, string[][]>();
  const add = (word: string, alternatives: string[][]) => {
    const held = synonyms.get(word) ?? [];
    for (const alternative of alternatives) {
      if (!held.some((words) => words.join(' ') === alternative.join(' '))) held.push(alternative);
    }
    synonyms.set(word, held);
  };
  for (const line of text.split('\n')) {
    const rule = line.replace(/#.*/, '').trim();
    if (rule === '') continue;
    const [left, right] = rule.split('=>', 2).map((side) => side.split(',').map((term) => queryWords(term)).filter((words) => words.length > 0));
    if (left === undefined || left.length === 0) continue;
    // Only a single-word term can be looked up from one query word; longer ones are only searched for.
    if (right === undefined) {
      for (const term of left) if (term.length === 1) add(term[0]!, left);
    } else {
      for (const term of left) if (term.length === 1) add(term[0]!, right);
    }
  }
  return synonyms;
}

export async function readSynonymsFile(path = SYNONYMS_FILE): Promise<Synonyms> {
  return parseSynonyms(await readFile(path, 'utf8'));
}

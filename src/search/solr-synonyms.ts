// The synonyms file both engines read (src/search/synonyms.txt), in Solr's format: "a, b, c" makes
// the terms equivalent; "a, b => c" makes a query for a or b search for c instead; # starts a comment.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { queryWords } from './search-text.ts';

export const SYNONYMS_FILE = fileURLToPath(new URL('./synonyms.txt', import.meta.url));

/** A query word -> what it also (or, for "=>" rules, instead) searches for, each a sequence of words. */
export type Synonyms = ReadonlyMap<string, readonly (readonly string[])[]>;

/**
 * The rules of the file, one per line as written (`a, b, c` or `a, b => c`), comments and blank lines
 * dropped: what OpenSearch's synonym_graph filter takes inline. A line that is not a rule throws,
 * naming it, so both engines refuse a broken file alike.
 */
export function synonymRules(text: string, source = 'synonyms'): string[] {
  const rules: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const sides = line.split('=>');
    const wellFormed = sides.length <= 2 && sides.every((side) => side.split(',').every((word) => word.trim() !== ''));
    if (!wellFormed || (sides.length === 1 && !line.includes(','))) {
      throw new Error(`${source}:${index + 1}: "${line}" is not a synonym rule ("a, b, c" or "a, b => c")`);
    }
    rules.push(line);
  });
  return rules;
}

export async function readSynonymRules(path = SYNONYMS_FILE): Promise<string[]> {
  return synonymRules(await readFile(path, 'utf8'), path);
}

export function parseSynonyms(text: string): Synonyms {
  const synonyms = new Map<string, string[][]>();
  const add = (word: string, alternatives: string[][]) => {
    const held = synonyms.get(word) ?? [];
    for (const alternative of alternatives) {
      if (!held.some((words) => words.join(' ') === alternative.join(' '))) held.push(alternative);
    }
    synonyms.set(word, held);
  };
  for (const rule of synonymRules(text)) {
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

// The judged query set of bench:relevance, built from the catalogue's own data (docs/search.md,
// "Relevance"): what a query is, which products are relevant to it and how much, and the measures.
// Deterministic: the same documents always give the same queries.
import type { SearchDocument } from '../src/catalog/search-document.ts';
import { foldText, searchKey } from '../src/search/search-text.ts';

export type QueryKind = 'brand-type' | 'name-fragment' | 'one-typo' | 'two-typos';

export interface JudgedQuery {
  kind: QueryKind;
  q: string;
  /** Product id -> gain grade (2 fully relevant, 1 partly). */
  relevant: ReadonlyMap<number, number>;
  /** For a typo'd query, the correct spelling it was made from. */
  correct?: string;
}

/** A small seeded generator (mulberry32): the query set must not change between runs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  return chosen;
}

/**
 * "Brand + product type": the brand's name and the name of the product's category, the nearest one to
 * the product that does not name the brand (the importer keeps some brand-named levels). Relevant: the
 * brand's products in that category or below (2), or in its parent category (1).
 */
export function brandTypeQueries(documents: readonly SearchDocument[], count: number, random: () => number): JudgedQuery[] {
  const groups = new Map<string, { brand: string; brandId: number; category: SearchDocument['categories'][number]; parentId: number | null; products: number[] }>();
  for (const document of documents) {
    if (!document.brand) continue;
    const brandKey = searchKey(document.brand.name);
    const path = document.categories;
    // Below the root ("Clothing" says little), nearest to the product first.
    for (let depth = path.length - 1; depth >= 1; depth -= 1) {
      const category = path[depth]!;
      if (searchKey(category.name).includes(brandKey) || brandKey.includes(searchKey(category.name))) continue;
      const key = `${document.brand.id}:${category.id}`;
      const group = groups.get(key) ?? { brand: document.brand.name, brandId: document.brand.id, category, parentId: path[depth - 1]?.id ?? null, products: [] };
      group.products.push(document.id);
      groups.set(key, group);
      break;
    }
  }
  const candidates = [...groups.entries()].filter(([, group]) => group.products.length >= 2).sort(([a], [b]) => (a < b ? -1 : 1));
  return pick(candidates, count, random).map(([, group]) => {
    const relevant = new Map<number, number>();
    for (const document of documents) {
      if (document.brand?.id !== group.brandId) continue;
      const ids = document.categories.map((category) => category.id);
      if (ids.includes(group.category.id)) relevant.set(document.id, 2);
      else if (group.parentId !== null && ids.includes(group.parentId)) relevant.set(document.id, 1);
    }
    return { kind: 'brand-type' as const, q: `${group.brand} ${group.category.name}`, relevant };
  });
}

/**
 * "Name fragment": two to four consecutive words of a product's name, at least one of them of four
 * letters or more. Relevant: products whose name holds the words in that order (2), or all of them in
 * another order (1). Fragments that more than 100 names hold are skipped as too vague to judge.
 */
export function nameFragmentQueries(documents: readonly SearchDocument[], count: number, random: () => number): JudgedQuery[] {
  const names = documents.map((document) => ({ id: document.id, key: ` ${searchKey(document.name)} `, words: new Set(searchKey(document.name).split(' ')) }));
  const queries: JudgedQuery[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; queries.length < count && attempt < count * 20; attempt += 1) {
    const document = documents[Math.floor(random() * documents.length)]!;
    const words = document.name.split(/\s+/).filter((word) => searchKey(word) !== '');
    const length = 2 + Math.floor(random() * 3);
    if (words.length < length) continue;
    const start = Math.floor(random() * (words.length - length + 1));
    const fragment = words.slice(start, start + length).join(' ');
    const key = searchKey(fragment);
    if (seen.has(key) || !key.split(' ').some((word) => word.length >= 4)) continue;
    seen.add(key);
    const relevant = new Map<number, number>();
    const fragmentWords = key.split(' ');
    for (const name of names) {
      if (name.key.includes(` ${key} `)) relevant.set(name.id, 2);
      else if (fragmentWords.every((word) => name.words.has(word))) relevant.set(name.id, 1);
    }
    if (relevant.size > 100) continue;
    queries.push({ kind: 'name-fragment', q: fragment, relevant });
  }
  return queries;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** One typing mistake inside a word, never on its first letter: a letter dropped, doubled or replaced. */
export function misspell(word: string, random: () => number): string {
  const at = 1 + Math.floor(random() * (word.length - 1));
  const kind = Math.floor(random() * 3);
  if (kind === 0) return word.slice(0, at) + word.slice(at + 1);
  if (kind === 1) return word.slice(0, at) + word[at - 1] + word.slice(at);
  let letter = LETTERS[Math.floor(random() * LETTERS.length)]!;
  if (letter === word[at]) letter = letter === 'z' ? 'a' : String.fromCharCode(letter.charCodeAt(0) + 1);
  return word.slice(0, at) + letter + word.slice(at + 1);
}

/**
 * The query with `typos` mistakes in its words of five letters or more (so a shopper's one mistake in
 * a short word, which no engine's AUTO fuzziness forgives, is not asked for): one mistake per word,
 * or two in one word of eight letters or more when only one word is long enough. Undefined when the
 * query has no such word.
 */
export function typoQuery(query: JudgedQuery, typos: 1 | 2, random: () => number): JudgedQuery | undefined {
  const words = foldText(query.q).split(/\s+/);
  const long = words.map((word, index) => ({ word, index })).filter(({ word }) => /^\p{L}+$/u.test(word) && word.length >= 5);
  if (long.length === 0) return undefined;
  const targets = pick(long, typos, random);
  if (typos === 2 && targets.length === 1) {
    if (targets[0]!.word.length < 8) return undefined;
    words[targets[0]!.index] = misspell(misspell(targets[0]!.word, random), random);
  } else {
    for (const target of targets) words[target.index] = misspell(target.word, random);
  }
  const q = words.join(' ');
  if (q === foldText(query.q)) return undefined;
  return { kind: typos === 1 ? 'one-typo' : 'two-typos', q, relevant: query.relevant, correct: query.q };
}

/** NDCG@k with gains 2^grade - 1, the ideal ranking taken from every judged product. */
export function ndcgAt(k: number, ranked: readonly number[], relevant: ReadonlyMap<number, number>): number {
  const dcg = (grades: readonly number[]) => grades.slice(0, k).reduce((sum, grade, index) => sum + (2 ** grade - 1) / Math.log2(index + 2), 0);
  const ideal = dcg([...relevant.values()].sort((a, b) => b - a));
  return ideal === 0 ? 0 : dcg(ranked.map((id) => relevant.get(id) ?? 0)) / ideal;
}

/** Relevant products in the top k, over as many as the top k can hold (min(k, relevant)). */
export function recallAt(k: number, ranked: readonly number[], relevant: ReadonlyMap<number, number>): number {
  if (relevant.size === 0) return 0;
  const found = ranked.slice(0, k).filter((id) => (relevant.get(id) ?? 0) > 0).length;
  return found / Math.min(k, relevant.size);
}

/** Share of the correct spelling's top k that the typo'd query also returns in its top k. */
export function overlapAt(k: number, typo: readonly number[], correct: readonly number[]): number {
  const top = correct.slice(0, k);
  if (top.length === 0) return 1;
  const found = new Set(typo.slice(0, k));
  return top.filter((id) => found.has(id)).length / top.length;
}

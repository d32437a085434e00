// The PostgreSQL engine's text pieces that need no database: query words, the tsquery they become,
// highlights, synonyms, spellings and which words a relaxed query drops.
import { describe, expect, it } from 'vitest';
import { allowedEdits, droppingOrder, planQuery, type WordAnalysis } from '../../src/search/postgres-query-plan.ts';
import { escapeHtml, foldText, highlightPrefixes, markedToHtml, MARK_END, MARK_START, queryWords, quoteLexeme, searchKey, tsqueryText } from '../../src/search/search-text.ts';
import { parseSynonyms } from '../../src/search/solr-synonyms.ts';

describe('query words', () => {
  it('when a query has accents, case and punctuation, then its words are folded runs of letters and digits, compounds whole', () => {
    expect(queryWords("Café LEVI'S t-shirt, 32GB!")).toEqual(['cafe', 'levi', 's', 't-shirt', '32gb']);
    expect(foldText('Jéwe\u0301llery')).toBe('jewellery');
  });

  it('when a query is only emoji or punctuation, then it has no words', () => {
    expect(queryWords('😀 👍🏽 !!')).toEqual([]);
  });

  it('when keys are compared, then words are joined by one space, compounds split', () => {
    expect(searchKey("  Levi's   T-Shirt ")).toBe('levi s t shirt');
  });
});

describe('tsquery text', () => {
  it('when groups have alternatives, a phrase synonym and a prefix, then words AND, alternatives OR, phrases <->, prefix :*', () => {
    const text = tsqueryText([
      { word: 'tshirt', spelt: 'tshirt', alternatives: [['tshirt'], ['tee'], ['tee', 'shirt']], prefix: false },
      { word: 'blu', spelt: 'blue', alternatives: [['blu'], ['blue']], prefix: true },
    ]);
    expect(text).toBe("('tshirt' | 'tee' | 'tee' <-> 'shirt') & ('blu' | 'blue' | 'blu':*)");
  });

  it('when a word holds a quote or a backslash, then it stays one quoted operand', () => {
    expect(quoteLexeme("o'neil\\")).toBe("'o''neil\\\\'");
  });
});

describe('highlights', () => {
  it('when marked text holds markup, then the markup is escaped and only the marks become <em>', () => {
    expect(markedToHtml(`${MARK_START}Cable${MARK_END} <b>&"'`)).toBe('<em>Cable</em> &lt;b&gt;&amp;&quot;&#39;');
    expect(escapeHtml('<script>')).toBe('&lt;script&gt;');
  });

  it('when a suggestion is highlighted, then the typed start of each word is marked, accents and markup kept safe', () => {
    expect(highlightPrefixes('Samsung <Galaxy> Café', ['sams', 'caf'])).toBe('<em>Sams</em>ung &lt;Galaxy&gt; <em>Caf</em>é');
    expect(highlightPrefixes('Nike', [])).toBe('Nike');
  });
});

describe('synonyms file', () => {
  it('when lines list equivalents, then each single word stands for all; "=>" rules replace; comments are ignored', () => {
    const synonyms = parseSynonyms('# comment\ntshirt, tee, t shirt\nsneakers => shoes # trailing\n\n');
    expect(synonyms.get('tee')).toEqual([['tshirt'], ['tee'], ['t', 'shirt']]);
    expect(synonyms.get('sneakers')).toEqual([['shoes']]);
    expect(synonyms.has('shoes')).toBe(false);
    expect(synonyms.has('t')).toBe(false);
  });
});

const analysis = (word: string, documents: number, spellings: [string, number, number][] = []): WordAnalysis => ({
  word,
  documents,
  spellings: spellings.map(([spelling, spellingDocuments, distance]) => ({ word: spelling, documents: spellingDocuments, distance })),
});

describe('query plan', () => {
  it('when fuzziness is AUTO, then no edit below 3 letters, 1 up to 5, then 2', () => {
    expect([2, 3, 5, 6, 12].map(allowedEdits)).toEqual([0, 1, 1, 2, 2]);
  });

  it('when a word is unknown, then its nearest spellings join it and the query is offered re-spelt', () => {
    const plan = planQuery([analysis('nike', 40), analysis('runing', 0, [['running', 48, 1], ['ruling', 3, 1], ['rung', 1, 2]])], new Map());
    expect(plan.groups[1]!.alternatives).toEqual([['runing'], ['running'], ['ruling']]);
    expect(plan.groups[1]!.spelt).toBe('running');
    expect(plan.didYouMean).toBe('nike running');
  });

  it('when every word is known, then nothing is offered and only an unknown last word is a prefix', () => {
    const known = planQuery([analysis('metal', 100), analysis('jewel', 12)], new Map());
    expect(known.didYouMean).toBeNull();
    expect(known.groups.map((group) => group.prefix)).toEqual([false, false]);
    const typing = planQuery([analysis('samsung', 81), analysis('gala', 0)], new Map());
    expect(typing.groups[1]!.prefix).toBe(true);
  });

  it('when a word is in the synonyms file, then its synonyms stand for it and it is not corrected', () => {
    const plan = planQuery([analysis('couch', 0, [['coach', 5, 1]])], parseSynonyms('sofa, couch'));
    expect(plan.groups[0]!.alternatives).toEqual([['sofa'], ['couch']]);
    expect(plan.didYouMean).toBeNull();
  });

  it('when a relaxed query drops words, then unknown words go first, then the most common', () => {
    expect(droppingOrder([analysis('samsung', 81), analysis('qwxz', 0), analysis('cover', 900), analysis('black', 900)])).toEqual([1, 3, 2, 0]);
  });
});

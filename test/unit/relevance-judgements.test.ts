// bench:relevance's measures and its query set's building blocks.
import { describe, expect, it } from 'vitest';
import { misspell, ndcgAt, overlapAt, recallAt, seededRandom, typoQuery } from '../../bench/relevance-judgements.ts';

const relevant = new Map([[1, 2], [2, 2], [3, 1]]);

describe('measures', () => {
  it('when the ranking is ideal, then NDCG is 1; when the best is last, less; when nothing relevant, 0', () => {
    expect(ndcgAt(10, [1, 2, 3], relevant)).toBeCloseTo(1);
    expect(ndcgAt(10, [3, 9, 1, 2], relevant)).toBeLessThan(0.9);
    expect(ndcgAt(10, [7, 8], relevant)).toBe(0);
  });

  it('when recall is counted, then over as many relevant products as the top k can hold', () => {
    expect(recallAt(2, [1, 9], relevant)).toBe(0.5);
    expect(recallAt(10, [1, 3], relevant)).toBeCloseTo(2 / 3);
  });

  it("when a typo'd query's top 10 is compared, then it is the share of the correct spelling's top 10 it keeps", () => {
    expect(overlapAt(10, [1, 2, 5], [1, 2, 3, 4])).toBe(0.5);
    expect(overlapAt(10, [], [])).toBe(1);
  });
});

describe('typos', () => {
  it('when the seed is the same, then the same mistakes are made, never on the first letter', () => {
    const first = Array.from({ length: 20 }, ((random) => () => misspell('sweaters', random))(seededRandom(1)));
    const second = Array.from({ length: 20 }, ((random) => () => misspell('sweaters', random))(seededRandom(1)));
    expect(first).toEqual(second);
    for (const word of first) {
      expect(word[0]).toBe('s');
      expect(word).not.toBe('sweaters');
    }
  });

  it('when a query has no word of five letters, then no typo query is made from it', () => {
    expect(typoQuery({ kind: 'name-fragment', q: 'A5 map kit', relevant }, 1, seededRandom(3))).toBeUndefined();
    const typo = typoQuery({ kind: 'brand-type', q: 'Marks & Spencer Sweaters', relevant }, 2, seededRandom(3));
    expect(typo).toMatchObject({ kind: 'two-typos', correct: 'Marks & Spencer Sweaters', relevant });
    expect(typo!.q).not.toBe('marks & spencer sweaters');
  });
});

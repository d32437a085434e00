import { describe, expect, it } from 'vitest';
import { listingTotal } from '../../src/catalog/listing.ts';
import { attributeFacets } from '../../src/catalog/listing-facets.ts';

const counts = (name: string, values: Record<string, number>) => Object.entries(values).map(([value, count]) => ({ name, value, count }));

describe('when the attribute facets are chosen from value counts', () => {
  it('then an attribute carried by fewer than 2 matching products is left out, unless it is filtered on', () => {
    const found = [...counts('Color', { Black: 3, White: 1 }), ...counts('Style Code', { X1: 1 }), ...counts('Model', { M: 1 })];
    expect(attributeFacets(found, []).map((facet) => facet.name)).toEqual(['Color']);
    expect(attributeFacets(found, [{ name: 'Model', values: ['M'] }]).map((facet) => facet.name)).toEqual(['Color', 'Model']);
  });

  it('then the 10 most widely carried attributes are kept, most carried first, with their 20 most frequent values', () => {
    const found = Array.from({ length: 12 }, (_, i) => counts(`A${String(i).padStart(2, '0')}`, Object.fromEntries(Array.from({ length: 25 }, (_, v) => [`v${String(v).padStart(2, '0')}`, i + v + 1])))).flat();
    const facets = attributeFacets(found, []);
    expect(facets.map((facet) => facet.name)).toEqual(['A11', 'A10', 'A09', 'A08', 'A07', 'A06', 'A05', 'A04', 'A03', 'A02']);
    expect(facets[0]?.values).toHaveLength(20);
    expect(facets[0]?.values[0]).toEqual({ value: 'v24', count: 36 });
  });

  it('then a filtered attribute and its selected values are kept though less frequent than the cut', () => {
    const found = [
      ...Array.from({ length: 10 }, (_, i) => counts(`Big${i}`, { x: 100 + i })).flat(),
      ...counts('Color', Object.fromEntries(Array.from({ length: 25 }, (_, v) => [`c${String(v).padStart(2, '0')}`, 1]))),
    ];
    expect(attributeFacets(found, []).map((facet) => facet.name)).not.toContain('Color');
    const facets = attributeFacets(found, [{ name: 'Color', values: ['c24'] }]);
    expect(facets).toHaveLength(10);
    const color = facets.find((facet) => facet.name === 'Color');
    expect(color?.values.map((value) => value.value)).toContain('c24');
    expect(color?.values).toHaveLength(20);
  });
});

describe('when a listing page states its total', () => {
  it('then a first page holding the whole listing is exact, whatever the estimate', () => {
    expect(listingTotal(500, 7, 24, true)).toEqual({ value: 7, estimate: false });
    expect(listingTotal(0, 0, 24, true)).toEqual({ value: 0, estimate: false });
  });

  it('then a page with more after it, or a later page, is an estimate no lower than the rows it read', () => {
    expect(listingTotal(3, 25, 24, true)).toEqual({ value: 25, estimate: true });
    expect(listingTotal(1234.4, 25, 24, true)).toEqual({ value: 1234, estimate: true });
    expect(listingTotal(40, 3, 24, false)).toEqual({ value: 40, estimate: true });
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { changedFields, productChangeBody, type ProductSnapshot } from '../../src/catalog/product-change.ts';
import { renderAsyncApiDocument } from '../../src/events/asyncapi-document.ts';
import { shorts } from '../support/placements.ts';

const snapshot: ProductSnapshot = {
  placement: shorts,
  version: 3,
  name: "Alisha Solid Women's Cycling Shorts",
  description: 'Cotton lycra',
  attributes: { Color: 'Navy', Fabric: 'Cotton' },
  images: ['a.jpg'],
  rating: 4.2,
  status: 'active',
  variants: [
    { sku: 'SRTEH2FF9KEDEFGF', options: { Size: 'M' }, price: 37900, compareAt: 99900, currency: 'INR', stock: 5 },
    { sku: 'SRTEH2FF9KEDEFGG', options: { Size: 'L' }, price: 37900, compareAt: 99900, currency: 'INR', stock: 0 },
  ],
};
const next = (change: Partial<ProductSnapshot>): ProductSnapshot => ({ ...snapshot, version: 4, ...change });
const withVariant = (index: number, change: Partial<ProductSnapshot['variants'][number]>) =>
  next({ variants: snapshot.variants.map((variant, i) => (i === index ? { ...variant, ...change } : variant)) });

describe('when asyncapi.yaml is compared with the change event schema', () => {
  it('then the committed document is exactly what the schema generates (run `npm run openapi` after changing it)', async () => {
    expect(await readFile(new URL('../../asyncapi.yaml', import.meta.url), 'utf8')).toBe(renderAsyncApiDocument());
  });
});

describe('when a write changes a product', () => {
  it.each<[string, ProductSnapshot, string[]]>([
    ['a price', withVariant(1, { price: 35900 }), ['price']],
    ['a stock level', withVariant(0, { stock: 4 }), ['stock']],
    ['a compare-at price', withVariant(0, { compareAt: null }), ['compareAtPrice']],
    ['a variant added', next({ variants: [...snapshot.variants, { ...snapshot.variants[0]!, sku: 'NEW' }] }), ['variants']],
    ['a variant option', withVariant(0, { options: { Size: 'S' } }), ['variants']],
    ['the slug and name', next({ placement: { ...shorts, slug: 'renamed' }, name: 'Renamed' }), ['slug', 'name']],
    ['the category', next({ placement: { ...shorts, categories: [shorts.categories[0]!] } }), ['category']],
    ['the brand', next({ placement: { ...shorts, brand: { id: 8, slug: 'other' } } }), ['brand']],
    ['attributes (order of keys aside)', next({ attributes: { Fabric: 'Cotton', Color: 'Red' } }), ['attributes']],
    ['nothing a field shows (a variant reordered)', next({ variants: [...snapshot.variants].reverse() }), []],
  ])('then the event names what changed: %s', (_change, after, fields) => {
    expect(changedFields(snapshot, after)).toEqual(fields);
  });

  it('then attributes listed in another order are not a change', () => {
    expect(changedFields(snapshot, next({ attributes: { Fabric: 'Cotton', Color: 'Navy' } }))).toEqual([]);
  });

  it('then an unchanged version commits no event, and a moved one whose fields all match still names the variants', () => {
    expect(productChangeBody(snapshot, { ...snapshot }, 'import')).toBeNull();
    expect(productChangeBody(snapshot, next({ variants: [...snapshot.variants].reverse() }), 'import')?.changed).toEqual(['variants']);
  });

  it('then a new product is "created" with no before, an archived one "archived" with both placements', () => {
    const created = productChangeBody(undefined, snapshot, 'admin:pim');
    expect(created).toMatchObject({ kind: 'created', before: null, after: shorts, version: 3, productId: shorts.id, actor: 'admin:pim' });
    const archived = productChangeBody(snapshot, next({ status: 'archived', placement: { ...shorts, listed: false } }), 'admin:pim');
    expect(archived).toMatchObject({ kind: 'archived', changed: ['status'], before: shorts, after: { ...shorts, listed: false }, version: 4 });
  });
});

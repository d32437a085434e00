// The rules an admin write passes before anything is written, and the issues strict validation reports.
import { describe, expect, it } from 'vitest';
import { createStrictValidatorCompiler } from '../../src/api/strict-validation.ts';
import type { BulkVariantItem} from '../../src/catalog/product-admin.ts';
import { bulkItemProblems, ProductCreate, slugFromName, updatedPricesProblem, variantSetProblems } from '../../src/catalog/product-admin.ts';
import { uniqueSlug } from '../../src/catalog/slug.ts';

const variant = (sku: string, extra: object = {}) => ({ sku, price: 1000, currency: 'INR', stock: 1, ...extra });

describe('when a product slug is made from its name', () => {
  it('then it is the name in slug words, numbered past the taken ones, never all digits', () => {
    expect(slugFromName('Trail Runner Léger')).toBe('trail-runner-leger');
    expect(slugFromName('2024')).toBe('2024-product');
    expect(slugFromName('!!!')).toBe('product');
    expect(uniqueSlug('kettle', new Set(['kettle', 'kettle-2', 'kettle-4']))).toBe('kettle-3');
    expect(uniqueSlug('kettle', new Set(['kettle-2']))).toBe('kettle');
  });
});

describe("when a product's variants are checked", () => {
  it('then a repeated SKU, a compare-at price below the price and a second currency are each named', () => {
    expect(variantSetProblems([variant('A'), variant('B', { compareAtPrice: 999 }), variant('A', { currency: 'USD' })])).toEqual([
      { in: 'body', name: 'variants.1.compareAtPrice', reason: 'is 999, below the price 1000' },
      { in: 'body', name: 'variants.2.sku', reason: 'repeats the SKU of variants.0' },
      { in: 'body', name: 'variants.2.currency', reason: 'must be INR like variants.0 (one currency per product)' },
    ]);
    expect(variantSetProblems([variant('A', { compareAtPrice: 1000 }), variant('B', { compareAtPrice: null })])).toEqual([]);
  });

  it('then a partial price update is judged against the values it keeps', () => {
    const current = { price: 1000, compareAt: 1500 };
    expect(updatedPricesProblem(current, { price: 1400 })).toBeUndefined();
    expect(updatedPricesProblem(current, { price: 1600 })).toBe('is 1500, below the price 1600');
    expect(updatedPricesProblem(current, { compareAtPrice: 900 })).toBe('is 900, below the price 1000');
    expect(updatedPricesProblem(current, { price: 1600, compareAtPrice: null })).toBeUndefined();
    expect(updatedPricesProblem({ price: 1000, compareAt: 500 }, {})).toBeUndefined();
  });
});

describe('when a bulk update is checked', () => {
  it('then each item that cannot be applied is reported with its index and SKU', () => {
    const items: BulkVariantItem[] = [{ sku: 'A', stock: 1 }, { sku: 'A', price: 5 }, { sku: 'Z', stock: 1 }, { sku: 'B' }, { sku: 'B2', price: 900, compareAtPrice: 100 }];
    const current = new Map([['A', { price: 1, compareAt: null }], ['B', { price: 1, compareAt: null }], ['B2', { price: 1, compareAt: null }]]);
    expect(bulkItemProblems(items, current)).toEqual([
      { in: 'body', name: 'items.1.sku', reason: 'duplicate SKU: also items.0', index: 1, sku: 'A' },
      { in: 'body', name: 'items.2.sku', reason: 'unknown SKU', index: 2, sku: 'Z' },
      { in: 'body', name: 'items.3', reason: 'sets none of price, compareAtPrice, stock', index: 3, sku: 'B' },
      { in: 'body', name: 'items.4.compareAtPrice', reason: 'is 100, below the price 900', index: 4, sku: 'B2' },
    ]);
  });
});

describe('when a write body fails validation', () => {
  const validate = createStrictValidatorCompiler()({ schema: ProductCreate, method: 'POST', url: '/admin/products', httpPart: 'body' }) as (data: unknown) => unknown;
  const issues = (data: unknown) => ((validate(data) as { error?: { instancePath: string; message: string }[] }).error ?? []).map((issue) => [issue.instancePath, issue.message]);

  it('then an unknown field, a union and a missing field each give one issue naming the field', () => {
    expect(issues({ category: 'Not A Slug', colour: 'red', brand: 1.5, images: ['not a uri'] })).toEqual([
      ['', 'is required'],
      ['/colour', 'is not a known field'],
      ['/category', expect.stringMatching(/^must be integer, or must match pattern/)],
      ['/brand', 'must be integer, or must be string, or must be null'],
      ['/images/0', 'must match format "uri"'],
    ]);
  });

  it('then nothing is coerced: a number in a string is the wrong type', () => {
    expect(issues({ name: 'x', category: 1, rating: '4' })).toEqual([['/rating', 'must be number, or must be null']]);
    expect(issues({ name: 'x', category: 1, variants: [{ sku: 'A', price: '1', currency: 'INR', stock: 1 }] })).toEqual([['/variants/0/price', 'must be integer']]);
    expect(validate({ name: 'x', category: '12' })).toBe(true);
  });

  it('then a NUL character, which PostgreSQL cannot store, is named wherever it is', () => {
    expect(issues({ name: 'x', category: 1, attributes: { 'a\u0000': 'b', c: 'd\u0000' } })).toEqual([
      ['/attributes/a\u0000', 'must not contain the character U+0000'],
      ['/attributes/c', 'must not contain the character U+0000'],
    ]);
  });
});

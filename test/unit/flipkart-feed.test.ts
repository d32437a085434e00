import { describe, expect, it } from 'vitest';
import { parseCategoryTree, parseFlipkartRecord, parseSpecifications } from '../../src/feeds/flipkart-feed.ts';
import { slugify } from '../../src/catalog/slug.ts';

describe('when a Flipkart category tree is read', () => {
  it('then brand sub-categories and the product name are not categories', () => {
    expect(
      parseCategoryTree(
        `["Clothing >> Women's Clothing >> Lingerie, Sleep & Swimwear >> Shorts >> Alisha Shorts >> Alisha Solid Women's Cycling Shorts"]`,
        "Alisha Solid Women's Cycling Shorts",
        'Alisha',
      ),
    ).toEqual(['Clothing', "Women's Clothing", 'Lingerie, Sleep & Swimwear', 'Shorts']);
    expect(parseCategoryTree(`["Kitchen & Dining >> Coffee Mugs >> Prithish Coffee Mugs"]`, 'Prithish Virgo Ceramic Mug', null)).toEqual([
      'Kitchen & Dining',
      'Coffee Mugs',
    ]);
  });

  it('then audience levels such as "Women\'s Footwear" are kept', () => {
    expect(parseCategoryTree(`["Footwear >> Women's Footwear >> Ballerinas >> AW Bellies"]`, 'AW Bellies', 'AW')).toEqual([
      'Footwear',
      "Women's Footwear",
      'Ballerinas',
    ]);
  });

  it('then a level cut short with "..." ends the path, and a non-list is malformed', () => {
    expect(parseCategoryTree(`["Furniture >> Computer Tables >> induscraft Solid Wood Computer Desk (Straight, F..."]`, 'induscraft Desk', null)).toEqual([
      'Furniture',
      'Computer Tables',
    ]);
    expect(parseCategoryTree('Footwear >> Men', 'x', null)).toBeUndefined();
  });
});

describe('when a Flipkart row is read', () => {
  const row = {
    uniq_id: 'abc123',
    pid: 'SKU1',
    product_name: '  Ladela   Bellies ',
    brand: 'Ladela',
    product_category_tree: '["Footwear >> Women\'s Footwear >> Ballerinas >> Ladela Bellies"]',
    retail_price: '1724',
    discounted_price: '950',
    product_rating: '5',
  };

  it('then prices become minor units, the MRP a compare-at price, and whitespace is tidied', () => {
    expect(parseFlipkartRecord(row)).toMatchObject({
      externalId: 'abc123',
      name: 'Ladela Bellies',
      price: { priceMinor: 95000, compareAtMinor: 172400 },
      rating: 5,
      categoryPath: ['Footwear', "Women's Footwear", 'Ballerinas'],
    });
  });

  it('then "No rating available" is no rating and an empty price is no price', () => {
    expect(parseFlipkartRecord({ ...row, product_rating: 'No rating available', retail_price: '', discounted_price: '' })).toMatchObject({
      rating: null,
      price: null,
    });
  });

  it.each([
    [{ uniq_id: '' }, /uniq_id/],
    [{ product_name: ' ' }, /product_name/],
    [{ discounted_price: '9,50' }, /discounted_price/],
    [{ product_rating: '11' }, /product_rating/],
    [{ stock: '-3' }, /stock/],
  ])('then %o is reported as malformed', (change, reason) => {
    expect(parseFlipkartRecord({ ...row, ...change })).toMatch(reason);
  });

  it('then specifications in the Ruby-hash notation become attributes, skipping entries without a key', () => {
    expect(
      parseSpecifications('{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}, {"value"=>"Machine wash"}, {"key"=>"Type", "value"=>"Shorts"}]}'),
    ).toEqual({ Fabric: 'Cotton', Type: 'Shorts' });
    expect(parseSpecifications('not a hash')).toEqual({});
  });
});

describe('when a slug is made', () => {
  it('then it is lowercase ASCII words, within the length, never ending on a hyphen', () => {
    expect(slugify("Women's Café Shorts (Pack of 3)")).toBe('womens-cafe-shorts-pack-of-3');
    expect(slugify('a'.repeat(30) + ' ' + 'b'.repeat(40))).toBe('a'.repeat(30));
    expect(slugify('नमस्ते')).toBe('');
  });
});

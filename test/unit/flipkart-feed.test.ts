import { describe, expect, it } from 'vitest';
import { CategoryShelfCensus, parseCategoryTree, parseFlipkartRecord, parseSpecifications } from '../../src/feeds/flipkart-feed.ts';
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

  // Real rows of data/flipkart-products/products_20k.csv: a qualifier in front of the parent's name
  // that is neither the brand nor how the product's name begins makes a real sub-category.
  it.each([
    [
      `["Tools & Hardware >> Tools >> Gardening Tools >> Plant Seeds >> Fruit Seeds >> Futaba Fruit Seeds >> Futaba Dragon Eye Fruit Seed (10 per packet)"]`,
      'Futaba Dragon Eye Fruit Seed',
      'Futaba',
      ['Tools & Hardware', 'Tools', 'Gardening Tools', 'Plant Seeds', 'Fruit Seeds'],
    ],
    [
      `["Clothing >> Men's Clothing >> Shirts >> Formal Shirts >> Fashion Tree Formal Shirts"]`,
      "Fashion Tree Men's Solid Formal Shirt",
      'Slim',
      ['Clothing', "Men's Clothing", 'Shirts', 'Formal Shirts'],
    ],
    [
      `["Clothing >> Men's Clothing >> Shirts >> Casual & Party Wear Shirts >> Discountgod Casual & Party Wear Shirts"]`,
      "Discountgod Men's Checkered Casual Shirt",
      'Slim',
      ['Clothing', "Men's Clothing", 'Shirts', 'Casual & Party Wear Shirts'],
    ],
    [`["Furniture >> Pet Furniture"]`, 'Petshop7 PS7BED000409 S Pet Bed', 'Petshop7', ['Furniture', 'Pet Furniture']],
    [`["Bags, Wallets & Belts >> Bags >> Hand Bags >> Alessia74 Hand Bags"]`, 'Alessia74 Hand-held Bag', null, ['Bags, Wallets & Belts', 'Bags', 'Hand Bags']],
    [`["Watches >> Wrist Watches >> Cobra Paris Wrist Watches"]`, 'Cobra Paris CO6394A1 Analog Watch - For Men, Boys', null, ['Watches', 'Wrist Watches']],
    [
      `["Furniture >> Living Room Furniture >> Sofa Beds & Futons >> FabHomeDecor Fabric Double Sofa Bed (Finish Colo..."]`,
      'FabHomeDecor Fabric Double Sofa Bed',
      'FabHomeDecor',
      ['Furniture', 'Living Room Furniture', 'Sofa Beds & Futons'],
    ],
  ])('then a real sub-category named like its parent is kept: %s', (tree, name, brand, path) => {
    expect(parseCategoryTree(tree, name, brand)).toEqual(path);
  });

  // The brand column is often empty or wrong ("Pink" for S4S), so the name's beginning names the brand too.
  it.each([
    [`["Clothing >> Women's Clothing >> Lingerie, Sleep & Swimwear >> Bras >> S4S Bras"]`, "S4S Stylish Women's Push-up Bra", 'Pink', 'Bras'],
    [`["Clothing >> Men's Clothing >> T-Shirts >> Numero Uno T-Shirts"]`, "Numero Uno Striped Men's Polo Neck T-Shirt", null, 'T-Shirts'],
    [`["Clothing >> Men's Clothing >> T-Shirts >> Teen Tees T-Shirts"]`, "Teen Tees Graphic Print Men's Round Neck T-Shirt", null, 'T-Shirts'],
    [`["Clothing >> Kids' Clothing >> Girls Wear >> Dresses & Skirts >> Dresses >> Kids On Board Dresses"]`, "Kids On Board Girl's Gathered Dress", null, 'Dresses'],
    [`["Furniture >> Pet Furniture"]`, 'Pet Club51 PC232 M Pet Bed', 'Multicolor', 'Furniture'],
  ])('then a brand shelf is dropped: %s', (tree, name, brand, leaf) => {
    expect(parseCategoryTree(tree, name, brand)?.at(-1)).toBe(leaf);
  });

  it('then a shelf that also holds other brands\' products is a category even when its qualifier begins the name', () => {
    const census = new CategoryShelfCensus();
    census.add(`["Furniture >> Pet Furniture"]`, 'Pet Club51 PC232 M Pet Bed', 'Multicolor');
    census.add(`["Clothing >> Men's Clothing >> T-Shirts >> Numero Uno T-Shirts"]`, "Numero Uno Striped Men's Polo Neck T-Shirt", '');
    expect(census.sharedShelves().has('furniture >> pet furniture')).toBe(false);
    expect(census.sharedShelves().has("clothing >> men's clothing")).toBe(true);
    census.add(`["Furniture >> Pet Furniture"]`, 'Petshop7 PS7BED000409 S Pet Bed', 'Petshop7');
    const shared = census.sharedShelves();
    expect(parseCategoryTree(`["Furniture >> Pet Furniture"]`, 'Pet Club51 PC232 M Pet Bed', 'Multicolor', shared)).toEqual(['Furniture', 'Pet Furniture']);
    expect(parseCategoryTree(`["Clothing >> Men's Clothing >> T-Shirts >> Numero Uno T-Shirts"]`, "Numero Uno Striped Men's Polo Neck T-Shirt", null, shared)).toEqual([
      'Clothing',
      "Men's Clothing",
      'T-Shirts',
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

// What GET /products adds to browsing: attribute filters (attr.<name>=<value>) in its query string,
// and in its page an estimated total and, when asked for, brand, price and attribute facets. The
// shapes and limits are search.ts's, shared with /products/search; listing.ts cannot import them
// (search.ts imports it), so they meet here.
import Type from 'typebox';
import type { AttributeValueCount, ListingSource, ResolvedListingFilters } from './listing.ts';
import { ListingPage, ListingQuery } from './listing.ts';
import {
  ATTRIBUTE_PARAMETER_PREFIX,
  attributeParameters,
  Facets,
  MAX_ATTRIBUTE_FACETS,
  MAX_ATTRIBUTE_NAME_LENGTH,
  MAX_FACET_VALUES,
  MIN_ATTRIBUTE_FACET_PRODUCTS,
  PRICE_BUCKETS,
  Total,
  type AttributeFilter,
  type FacetName,
} from './search.ts';
import { CatalogError } from './catalog-error.ts';

/**
 * Facets /products counts when asked (`facets=brand,price,attributes`); none by default, so a listing
 * costs what it did. The category facet (children of the category filtered on) is search's.
 */
export const LISTING_FACETS: readonly FacetName[] = ['brand', 'price', 'attributes'];

// A key that starts like an attribute filter but that attributeParameters does not match (an empty,
// over-long or control-character name) must be refused, not let through as an unknown parameter:
// attributeFiltersOf would take it, unvalidated.
const escapedPrefix = ATTRIBUTE_PARAMETER_PREFIX.replace('.', '\\.');
const attributeKeys = {
  propertyNames: { pattern: `^(?!${escapedPrefix})|^${escapedPrefix}[^\\u0000-\\u001f\\u007f]{1,${MAX_ATTRIBUTE_NAME_LENGTH}}$` },
};

export const ListedQuery = Type.Object(ListingQuery.properties, { ...attributeParameters, ...attributeKeys });

export const ListedPage = Type.Object({
  ...ListingPage.properties,
  total: Total,
  facets: Type.Optional(Facets),
});

/** The facets a listing is asked for; /products offers only attribute facets. */
export function listingFacetNames(facetNames: readonly FacetName[]): FacetName[] {
  const unsupported = facetNames.find((name) => !LISTING_FACETS.includes(name));
  if (unsupported !== undefined) throw new CatalogError('invalid-parameter', `facet "${unsupported}" is offered by /products/search; /products counts ${LISTING_FACETS.join(', ')}`);
  return [...facetNames];
}

/** The facets of a listing's filters, for listProducts; each is one statement, run side by side. */
export function listingFacets(
  source: Pick<ListingSource, 'countAttributeValues' | 'countBrands' | 'countPriceBuckets'>,
  facetNames: readonly FacetName[],
): ((filters: ResolvedListingFilters) => Promise<Facets>) | undefined {
  if (facetNames.length === 0) return undefined;
  return async (filters) => {
    const [brand, price, attributes] = await Promise.all([
      facetNames.includes('brand') ? source.countBrands(filters) : undefined,
      facetNames.includes('price') ? source.countPriceBuckets(filters) : undefined,
      facetNames.includes('attributes') ? source.countAttributeValues(filters) : undefined,
    ]);
    const facets: Facets = {};
    if (brand) facets.brand = brand;
    if (price) facets.price = PRICE_BUCKETS.map(([from, to], i) => ({ from, to, count: price[i] ?? 0 }));
    if (attributes) facets.attributes = attributeFacets(attributes, filters.attributes ?? []);
    return facets;
  };
}

/**
 * The attributes that at least MIN_ATTRIBUTE_FACET_PRODUCTS matching products carry, most widely
 * carried first, each with its most frequent values. An attribute filtered on is always shown, with
 * its selected values, so a shopper can see and undo the selection (there are at most
 * MAX_ATTRIBUTE_FILTERS = MAX_ATTRIBUTE_FACETS of them, each of at most MAX_ATTRIBUTE_VALUES =
 * MAX_FACET_VALUES values, so they always fit).
 */
export function attributeFacets(counts: readonly AttributeValueCount[], selected: readonly AttributeFilter[]): NonNullable<Facets['attributes']> {
  const byName = new Map<string, { carriers: number; values: { value: string; count: number }[] }>();
  for (const { name, value, count } of counts) {
    const attribute = byName.get(name) ?? { carriers: 0, values: [] };
    // A product carries one value per attribute, so the value counts add up to its carriers.
    attribute.carriers += count;
    attribute.values.push({ value, count });
    byName.set(name, attribute);
  }
  const selectedValues = new Map(selected.map((filter) => [filter.name, new Set(filter.values)]));
  const chosen = [...byName]
    .filter(([name, attribute]) => attribute.carriers >= MIN_ATTRIBUTE_FACET_PRODUCTS || selectedValues.has(name))
    .sort(([nameA, a], [nameB, b]) => Number(selectedValues.has(nameB)) - Number(selectedValues.has(nameA)) || b.carriers - a.carriers || compare(nameA, nameB))
    .slice(0, MAX_ATTRIBUTE_FACETS);
  return chosen
    .sort(([nameA, a], [nameB, b]) => b.carriers - a.carriers || compare(nameA, nameB))
    .map(([name, attribute]) => {
      const picked = selectedValues.get(name) ?? new Set<string>();
      const values = attribute.values
        .sort((a, b) => Number(picked.has(b.value)) - Number(picked.has(a.value)) || b.count - a.count || compare(a.value, b.value))
        .slice(0, MAX_FACET_VALUES)
        .sort((a, b) => b.count - a.count || compare(a.value, b.value));
      return { name, values };
    });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// What the search engines index for one product: everything a query matches, filters, facets or
// sorts on, and what a result shows. Built from PostgreSQL by the indexer (store/search-documents.ts)
// and written through the search port (search/search-port.ts) with the product's version.
import Type, { type Static } from 'typebox';
import type { ProductSummary } from './listing.ts';

const NamedRef = Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String() });

export const SearchDocument = Type.Object(
  {
    id: Type.Integer(),
    version: Type.Integer(),
    slug: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    brand: Type.Union([NamedRef, Type.Null()]),
    /** From the root down to the product's category. */
    categories: Type.Array(NamedRef),
    attributes: Type.Record(Type.String(), Type.String()),
    image: Type.Union([Type.String(), Type.Null()]),
    priceMin: Type.Integer(),
    priceMax: Type.Integer(),
    currency: Type.String(),
    inStock: Type.Boolean(),
    rating: Type.Union([Type.Number(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SearchDocument' },
);
export type SearchDocument = Static<typeof SearchDocument>;

/**
 * One product's state for the index at a version: its document, or null when shoppers must not find
 * it (archived, draft, unpriced, gone), which removes it.
 */
export interface SearchDocumentChange {
  productId: number;
  version: number;
  document: SearchDocument | null;
}

/** The fields of a search document a result shows: what either engine reads back from its index. */
export type ShownFields = Pick<SearchDocument, 'slug' | 'name' | 'image' | 'priceMin' | 'priceMax' | 'currency' | 'inStock' | 'rating'> & {
  brand: { slug: string; name: string } | null;
};

/** A search result's product, as a listing shows it, from what the engine's index holds. */
export function summaryOfDocument(id: number, shown: ShownFields): ProductSummary {
  return {
    id,
    slug: shown.slug,
    name: shown.name,
    brand: shown.brand === null ? null : { slug: shown.brand.slug, name: shown.brand.name },
    image: shown.image,
    price: { min: shown.priceMin, max: shown.priceMax, currency: shown.currency },
    inStock: shown.inStock,
    rating: shown.rating,
  };
}

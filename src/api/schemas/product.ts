import Type from 'typebox';
import { DEFAULT_LISTING_LIMIT, LISTING_SORTS, MAX_LISTING_LIMIT } from '../../catalog/listing.ts';
import { DEFAULT_RELATED_LIMIT, MAX_RELATED_LIMIT } from '../../catalog/product-page.ts';
import { SLUG_PATTERN } from '../../catalog/slug.ts';

const slugOrId = (digits: number) => `^(?:\\d{1,${digits}}|${SLUG_PATTERN.slice(1, -1)})$`;
const Money = Type.Integer({ minimum: 0, description: 'Amount in minor units of the currency (paise, cents)' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' });

export const BrandRef = Type.Union([Type.Object({ slug: Type.String(), name: Type.String() }), Type.Null()]);

export const ProductSummary = Type.Object({
  id: Type.Integer(),
  slug: Type.String(),
  name: Type.String(),
  brand: BrandRef,
  image: Type.Union([Type.String(), Type.Null()]),
  price: Type.Object({ min: Money, max: Money, currency: Currency }, { description: 'Lowest and highest variant price' }),
  inStock: Type.Boolean(),
  rating: Type.Union([Type.Number({ minimum: 0, maximum: 5 }), Type.Null()]),
});

export const ListingQuery = Type.Object({
  category: Type.Optional(Type.String({ pattern: slugOrId(9), description: 'Category id or slug; includes its descendants' })),
  brand: Type.Optional(Type.String({ pattern: slugOrId(9), description: 'Brand id or slug' })),
  minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e15, description: 'Lowest price at least this, in minor units' })),
  maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e15, description: 'Lowest price at most this, in minor units' })),
  inStock: Type.Optional(Type.Boolean({ description: 'Only products with (true) or without (false) stock' })),
  sort: Type.Enum([...LISTING_SORTS], { default: 'newest', description: 'Order of the listing' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LISTING_LIMIT, default: DEFAULT_LISTING_LIMIT }),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,4096}$', description: 'nextCursor of the previous page' })),
});

export const ListingPage = Type.Object({
  items: Type.Array(ProductSummary),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});

const CategoryRef = Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String() });

export const ProductPage = Type.Object({
  id: Type.Integer(),
  slug: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  brand: BrandRef,
  category: CategoryRef,
  categoryPath: Type.Array(CategoryRef, { description: 'From the root down to the product category' }),
  attributes: Type.Record(Type.String(), Type.String()),
  images: Type.Array(Type.String()),
  rating: Type.Union([Type.Number({ minimum: 0, maximum: 5 }), Type.Null()]),
  price: Type.Union([Type.Object({ min: Money, max: Money, currency: Currency }), Type.Null()]),
  inStock: Type.Boolean(),
  variants: Type.Array(
    Type.Object({
      id: Type.Integer(),
      sku: Type.String(),
      options: Type.Record(Type.String(), Type.String()),
      price: Money,
      compareAtPrice: Type.Union([Money, Type.Null()]),
      currency: Currency,
      stock: Type.Integer({ minimum: 0 }),
      inStock: Type.Boolean(),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  version: Type.Integer({ description: 'Increases on every change to the product or its variants' }),
});

export const ProductParams = Type.Object({
  idOrSlug: Type.String({ pattern: slugOrId(15), description: 'Product id or slug' }),
});

export const RelatedQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: MAX_RELATED_LIMIT, default: DEFAULT_RELATED_LIMIT }),
});

export const RelatedProducts = Type.Object({ items: Type.Array(ProductSummary) });

// The HTTP-only parts of the product routes: the path and the related list's query. The shapes the
// routes answer with (and the listing query) are the domain's, in src/catalog/.
import Type from 'typebox';
import { entityRefPattern } from '../../catalog/entity-ref.ts';
import { DEFAULT_RELATED_LIMIT, MAX_RELATED_LIMIT } from '../../catalog/product-page.ts';

export const ProductParams = Type.Object({
  idOrSlug: Type.String({ pattern: entityRefPattern(15), description: 'Product id or slug' }),
});

export const RelatedQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: MAX_RELATED_LIMIT, default: DEFAULT_RELATED_LIMIT }),
});

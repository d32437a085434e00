// The invalidation API for the change pipeline: given where a product sat before a change and where
// it sits after, drop every cached response the change can affect, on every pod and in both tiers.
import { productChangeTags, type ProductPlacement } from './cache-tags.ts';

export interface Invalidator {
  invalidate(tags: readonly string[]): Promise<void>;
}

export interface PlacementSource {
  findPlacement(productId: number): Promise<ProductPlacement | null>;
}

/** Returns the tags it invalidated (for logs and tests). */
export async function invalidateProductChange(cache: Invalidator, before: ProductPlacement | null, after: ProductPlacement | null): Promise<string[]> {
  const tags = productChangeTags(before, after);
  await cache.invalidate(tags);
  return tags;
}

/**
 * For a change whose "before" was not captured (a price or stock update, a replayed event): the
 * product's current placement stands for both sides. A move to another category or brand, or a new
 * slug, needs both, or pages under the old names live until the 60 s bound. Read placements from
 * the primary (ReadPath.placements).
 */
export async function invalidateProduct(cache: Invalidator, source: PlacementSource, productId: number): Promise<string[]> {
  const placement = await source.findPlacement(productId);
  return invalidateProductChange(cache, placement, placement);
}

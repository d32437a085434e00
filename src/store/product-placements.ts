// Where a product sits (slug, categories, brand, listed), to name the cache tags a change touches.
// Read from the primary: a replica that lags would name the tags of the product before the change.
// The same snapshot the write path takes (product-changes.ts), so both name a placement alike.
import type pg from 'pg';
import type { ProductPlacement } from '../catalog/cache-tags.ts';
import type { PlacementSource } from '../catalog/product-invalidation.ts';
import { snapshotProducts } from './product-changes.ts';

export function createPlacementSource({ pool }: { pool: pg.Pool }): PlacementSource {
  return {
    async findPlacement(productId: number): Promise<ProductPlacement | null> {
      const snapshots = await snapshotProducts(pool, { ids: [productId] }, { lock: false });
      return snapshots.get(productId)?.placement ?? null;
    },
  };
}

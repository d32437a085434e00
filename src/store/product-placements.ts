// Where a product sits (slug, categories, brand, listed), to name the cache tags a change touches.
// Read from the primary: a replica that lags would name the tags of the product before the change.
import type pg from 'pg';
import type { ProductPlacement } from '../catalog/cache-tags.ts';
import type { PlacementSource } from '../catalog/product-invalidation.ts';
import { LISTED } from './product-repository.ts';

export function createPlacementSource({ pool }: { pool: pg.Pool }): PlacementSource {
  return {
    async findPlacement(productId: number): Promise<ProductPlacement | null> {
      const { rows } = await pool.query<{ id: number; slug: string; listed: boolean; brand: { id: number; slug: string } | null; categories: { id: number; slug: string }[] }>(
        `SELECT p.id, p.slug, (${LISTED}) AS listed,
                CASE WHEN b.id IS NULL THEN NULL ELSE json_build_object('id', b.id, 'slug', b.slug) END AS brand,
                (SELECT json_agg(json_build_object('id', c.id, 'slug', c.slug) ORDER BY nlevel(c.path))
                   FROM categories c WHERE c.path @> p.category_path) AS categories
           FROM products p LEFT JOIN brands b ON b.id = p.brand_id WHERE p.id = $1`,
        [productId],
      );
      return rows[0] ?? null;
    },
  };
}

// The URLs the steady load cycles through: a few hot ones (answered from the caches after their first
// time) between many cold ones (a listing page per offset: each reaches PostgreSQL once).
import pg from 'pg';

export async function loadPaths(databaseUrl: string, cold = 400): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT 5`);
    const hot = ['/products?limit=5', '/categories', ...rows.map((row) => `/products/${row.id}`)];
    return Array.from({ length: cold }, (_, offset) => [hot[offset % hot.length] as string, `/products?limit=3&offset=${offset}`]).flat();
  } finally {
    await pool.end();
  }
}

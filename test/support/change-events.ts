// The change events a test's writes committed, as the relay would publish them, and a validator
// built from the committed asyncapi.yaml (the contract consumers read, not the TypeBox source).
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type pg from 'pg';
import { parse } from 'yaml';
import type { ProductChangeEvent } from '../../src/catalog/product-change.ts';

export async function committedChanges(pool: pg.Pool, afterId = 0): Promise<ProductChangeEvent[]> {
  const { rows } = await pool.query<{ id: string; event: Omit<ProductChangeEvent, 'eventId' | 'committedAt'>; committed_at: Date }>(
    'SELECT id::text, event, committed_at FROM product_changes WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows.map((row) => ({ eventId: row.id, ...row.event, committedAt: row.committed_at.toISOString() }));
}

export async function changeEventValidator() {
  const document = parse(await readFile(new URL('../../asyncapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { ProductChangeEvent: object } } };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(document.components.schemas.ProductChangeEvent);
}

// Reindex on real PostgreSQL (a copy of the bundled catalogue) against a fake OpenSearch node that
// records what it is sent: every product goes to the new index in id order, the alias moves in one
// _aliases call, a product changed while the build ran is written again through the alias after the
// swap, the old index is deleted, and a failed build, or a SIGTERM mid-build, leaves the alias where it was.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../src/search/opensearch-client.ts';
import { reindexOpenSearch } from '../../src/search/opensearch-reindex.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { listedProducts, setPrice } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { startFakeOpenSearch, type FakeAnswer, type FakeOpenSearch, type RecordedRequest } from '../support/fake-opensearch.ts';
import { startRoleProcess } from '../support/role-process.ts';

const ALIAS = 'catalog-products';
const OLD_INDEX = 'catalog-products-20260101-000000000';

let databaseName: string;
let databaseUrl: string;
let database: Database;
let pool: pg.Pool;
let fake: FakeOpenSearch;
let client: ReturnType<typeof createOpenSearchClient>;

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_opensearch_reindex');
  databaseName = clone.name;
  databaseUrl = clone.url;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  pool = database.primary;
  fake = await startFakeOpenSearch();
  client = createOpenSearchClient({ url: fake.url, timeoutMs: 10_000 });
});
afterEach(() => {
  fake.requests.length = 0;
});
afterAll(async () => {
  await client.close();
  await fake.close();
  await database.close();
  await dropDatabase(databaseName);
});

type BulkLine = { index?: { _index: string; _id: string; version: number; version_type: string } } & Record<string, unknown>;

/** A cluster where the alias points at OLD_INDEX and every request succeeds; `onBulk` runs before a _bulk is answered. */
function healthyCluster(onBulk: (lines: BulkLine[]) => Promise<void> | void = () => undefined) {
  return async (sent: RecordedRequest): Promise<FakeAnswer> => {
    if (sent.path === '/_bulk') {
      const lines = sent.body as BulkLine[];
      await onBulk(lines);
      const items = lines.filter((line) => line.index).map((line) => ({ index: { _id: line.index!._id, status: 201, result: 'created' } }));
      return { status: 200, body: { took: 1, errors: false, items } };
    }
    if (sent.method === 'GET' && sent.path === `/_alias/${ALIAS}`) return { status: 200, body: { [OLD_INDEX]: { aliases: { [ALIAS]: {} } } } };
    return { status: 200, body: { acknowledged: true } };
  };
}

const actions = (lines: BulkLine[]) => lines.flatMap((line) => (line.index ? [line.index] : []));
const bulksTo = (index: string) =>
  fake.requests.filter((sent) => sent.path === '/_bulk').flatMap((sent) => actions(sent.body as BulkLine[]).filter((action) => action._index === index));

describe('when the catalogue is reindexed', () => {
  it('then every product is built into a new index, the alias swaps in one call, changes made meanwhile follow, and the old index goes', async () => {
    const [changed] = await listedProducts(pool, 1, 50);
    let priceSet: Promise<unknown> | undefined;
    fake.answer(
      healthyCluster(async (lines) => {
        // A shopper-visible change committed while the build runs (after the build's mark).
        if (priceSet === undefined && actions(lines)[0]?._index !== ALIAS) {
          priceSet = setPrice(pool, changed!.id, 123_400);
          await priceSet;
        }
      }),
    );
    const { rows } = await pool.query<{ count: string; max: string }>('SELECT count(*)::text AS count, max(id)::text AS max FROM products');

    const result = await reindexOpenSearch({ client, pool, alias: ALIAS, synonyms: ['sofa, couch'], batchSize: 2_000, catchUpMarginMs: 0, now: () => new Date('2026-11-30T07:30:00Z') });

    const index = 'catalog-products-20261130-073000000';
    expect(result).toMatchObject({ index, previous: [OLD_INDEX], documents: Number(rows[0]!.count) });
    const sentTo = fake.requests.map((sent) => `${sent.method} ${sent.path}`).filter((line) => line !== 'POST /_bulk');
    expect(sentTo).toEqual([`PUT /${index}`, `PUT /${index}/_settings`, `GET /${index}/_refresh`, `GET /_alias/${ALIAS}`, 'POST /_aliases', `DELETE /${OLD_INDEX}`]);

    const created = fake.requests[0]!.body as { settings: { number_of_replicas: number; refresh_interval: string; analysis: { filter: { catalog_synonyms: { synonyms: string[] } } } } };
    expect(created.settings).toMatchObject({ number_of_replicas: 0, refresh_interval: '-1' });
    expect(created.settings.analysis.filter.catalog_synonyms.synonyms).toEqual(['sofa, couch']);
    expect(fake.requests.find((sent) => sent.path === `/${index}/_settings`)!.body).toEqual({ number_of_replicas: 1, refresh_interval: '1s' });

    const built = bulksTo(index).map((action) => Number(action._id));
    expect(built).toHaveLength(Number(rows[0]!.count));
    expect(built).toEqual([...built].sort((a, b) => a - b));
    expect(built.at(-1)).toBe(Number(rows[0]!.max));
    expect(bulksTo(index).every((action) => action.version_type === 'external')).toBe(true);

    const swap = fake.requests.find((sent) => sent.path === '/_aliases')!.body;
    expect(swap).toEqual({ actions: [{ remove: { index: OLD_INDEX, alias: ALIAS } }, { add: { index, alias: ALIAS } }] });

    // The change is written again after the swap, through the alias, at its new version.
    const swapAt = fake.requests.findIndex((sent) => sent.path === '/_aliases');
    const replayed = fake.requests.slice(swapAt).filter((sent) => sent.path === '/_bulk').flatMap((sent) => actions(sent.body as BulkLine[]));
    const { rows: now } = await pool.query<{ version: string }>('SELECT version::text FROM products WHERE id = $1', [changed!.id]);
    expect(replayed).toContainEqual({ _index: ALIAS, _id: String(changed!.id), version: Number(now[0]!.version), version_type: 'external' });
    expect(result.caughtUp).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('then a build that fails deletes the half-built index and leaves the alias where it was', async () => {
    fake.answer(async (sent) => {
      if (sent.path === '/_bulk') return { status: 200, body: { took: 1, errors: true, items: [{ index: { _id: '1', status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad' } } }] } };
      return healthyCluster()(sent);
    });
    await expect(reindexOpenSearch({ client, pool, alias: ALIAS, synonyms: [], batchSize: 1, now: () => new Date('2026-11-30T08:00:00Z') })).rejects.toThrow(/mapper_parsing_exception/);
    const sentTo = fake.requests.map((sent) => `${sent.method} ${sent.path}`);
    expect(sentTo).toEqual(['PUT /catalog-products-20261130-080000000', 'POST /_bulk', 'DELETE /catalog-products-20261130-080000000']);
  });

  it('then a reindex role sent SIGTERM mid-build deletes the half-built index, leaves the alias where it was and exits 143', async () => {
    let bulks = 0;
    // Slow bulks, so the signal lands with most of the build still to do.
    fake.answer(healthyCluster(async () => {
      bulks += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }));
    const role = startRoleProcess(['reindex'], { DATABASE_URL: databaseUrl, OPENSEARCH_URL: fake.url, OPENSEARCH_INDEX: ALIAS, LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '60000' });
    try {
      while (bulks < 2) {
        if (role.child.exitCode !== null) throw new Error(`reindex exited early:\n${role.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      role.child.kill('SIGTERM');
      const { code } = await role.exited;
      expect(role.output()).toMatch(/reindex stopped by SIGTERM: the half-built index deleted, the alias unchanged/);
      expect(code).toBe(143);
    } finally {
      role.child.kill('SIGKILL');
    }
    const built = fake.requests.find((sent) => sent.method === 'PUT' && sent.path.startsWith(`/${ALIAS}-`))!.path;
    expect(fake.requests.filter((sent) => sent.path === '/_bulk').length).toBeLessThan(10);
    expect(fake.requests.some((sent) => sent.path === '/_aliases')).toBe(false);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: built });
  }, 120_000);

  it('then the first reindex, with no alias yet, only adds it', async () => {
    fake.answer(async (sent) => (sent.path === `/_alias/${ALIAS}` || sent.method === 'HEAD' || (sent.method === 'GET' && sent.path === `/${ALIAS}`) ? { status: 404, body: { error: 'alias [catalog-products] missing', status: 404 } } : healthyCluster()(sent)));
    const result = await reindexOpenSearch({ client, pool, alias: ALIAS, synonyms: [], batchSize: 5_000, catchUpMarginMs: 0, now: () => new Date('2026-11-30T08:10:00Z') });
    expect(result.previous).toEqual([]);
    expect(fake.requests.find((sent) => sent.path === '/_aliases')!.body).toEqual({ actions: [{ add: { index: result.index, alias: ALIAS } }] });
    expect(fake.requests.some((sent) => sent.method === 'DELETE')).toBe(false);
  }, 120_000);
});

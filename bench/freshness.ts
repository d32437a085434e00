// npm run bench:freshness: how soon a price change is served, and how fast the indexer applies changes.
//   freshness   price updates through the admin API, one after another, on hot product pages while
//               wrk reads those pages and their listings (50 connections, Zipf); each update is timed
//               from its commit (product_changes.committed_at) to the first GET that serves it
//   read loss   the same read load without updates, then with them, in alternating rounds: the median
//               round's req/s lost to the stream
//   throughput  every bundled product as a change event at once (a full re-import's worth), timed
//               from commit until the search read model holds all of them and the outbox is empty
// Both in process (no KAFKA_BROKERS: the api relays to its own indexer, on the api's core) and
// through the project's Kafka test broker with the relay and the indexer as processes of their own
// (on the load generator's core, with the broker and this process: 2 cores are all there are; for
// the throughput run, which has no read load, they may use both).
import { createHash, randomBytes } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { recordProductChanges } from '../src/store/product-changes.ts';
import { startKafkaBroker } from '../test/support/kafka-broker/index.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-server.ts';
import { prepareBenchDatabase } from './bench-database.ts';
import { hasTaskset, median, medianRun, pinProcess, loadGenerator, pinSelf, printTable, runLoad, startServer, type BenchServer, type LoadResult } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const HOT_PRODUCTS = Number(process.env.BENCH_HOT_PRODUCTS ?? 100);
// About 4 updates a second to the 100 hottest pages: far above a catalogue's real rate for so few products.
const UPDATE_GAP_MS = Number(process.env.BENCH_UPDATE_GAP_MS ?? 200);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const token = randomBytes(24).toString('base64url');
const adminTokens = `bench:${createHash('sha256').update(token).digest('hex')}:read+write`;
const runPrefix = `catalog-bench:${randomUUID().slice(0, 8)}:`;

interface HotProduct {
  id: number;
  sku: string;
  price: number;
  category: string;
}

async function hotProducts(pool: pg.Pool): Promise<HotProduct[]> {
  const { rows } = await pool.query<{ id: number; sku: string; price: string; category: string }>(
    `SELECT p.id, v.sku, v.price_minor AS price, c.slug AS category
       FROM products p JOIN categories c ON c.id = p.category_id
       JOIN LATERAL (SELECT sku, price_minor FROM variants WHERE product_id = p.id ORDER BY position, id LIMIT 1) v ON true
      WHERE p.status = 'active' AND p.price_min IS NOT NULL ORDER BY p.id LIMIT $1`,
    [HOT_PRODUCTS],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id), price: Number(row.price) }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function indexedCount(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM search_documents WHERE NOT removed')).rows[0]?.n);
}

async function listedCount(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM products WHERE status = 'active' AND price_min IS NOT NULL`)).rows[0]?.n);
}

async function backlog(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM product_changes WHERE published_at IS NULL')).rows[0]?.n);
}

/** Sets a hot product's price through the admin API, then polls its page until it is served; returns commit-to-served ms. */
async function timeOneUpdate(api: string, pool: pg.Pool, product: HotProduct, price: number): Promise<number> {
  const response = await fetch(`${api}/admin/variants/${encodeURIComponent(product.sku)}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ price }),
  });
  if (!response.ok) throw new Error(`admin update answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
  let servedAt = 0;
  for (;;) {
    const page = await fetch(`${api}/products/${product.id}`);
    const body = (await page.json()) as { variants: { sku: string; price: number }[] };
    if (body.variants.find((variant) => variant.sku === product.sku)?.price === price) {
      servedAt = Date.now();
      break;
    }
    await sleep(5);
  }
  const committed = await pool.query<{ at: string }>(
    `SELECT (extract(epoch FROM committed_at) * 1000)::float8 AS at FROM product_changes
      WHERE product_id = $1 AND event->'changed' ? 'price' ORDER BY id DESC LIMIT 1`,
    [product.id],
  );
  return servedAt - Number(committed.rows[0]?.at);
}

interface FreshnessResult {
  latencies: number[];
  /** The median rounds by req/s. */
  quiet: LoadResult;
  streaming: LoadResult;
  /** Per round: 1 - streaming req/s / quiet req/s. */
  losses: number[];
}

/**
 * ROUNDS rounds, each a quiet run then a run with the update stream: this machine drifts by more
 * than the effect over a minute, so the loss is judged per round and its median reported.
 */
async function measureFreshness(api: string, pool: pg.Pool, hot: HotProduct[], label: string): Promise<FreshnessResult> {
  const paths = hot.flatMap((product) => [`/products/${product.id}`, `/products?category=${product.category}&sort=price_asc&limit=24`]);
  const latencies: number[] = [];
  const rounds: { quiet: LoadResult; streaming: LoadResult }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const quiet = await runLoad({ name: `${label}: reads, no updates`, url: api, paths, seconds: SECONDS, warmupSeconds: round === 0 ? 3 : 1 });
    let streaming = true;
    const load = runLoad({ name: `${label}: reads during updates`, url: api, paths, seconds: SECONDS, warmupSeconds: 0 }).finally(() => (streaming = false));
    for (let n = latencies.length; streaming; n += 1) {
      const product = hot[n % hot.length] as HotProduct;
      product.price += 100;
      latencies.push(await timeOneUpdate(api, pool, product, product.price));
      await sleep(UPDATE_GAP_MS);
    }
    rounds.push({ quiet, streaming: await load });
  }
  return {
    latencies,
    quiet: medianRun(rounds.map((round) => round.quiet)),
    streaming: medianRun(rounds.map((round) => round.streaming)),
    losses: rounds.map((round) => 1 - round.streaming.rps / round.quiet.rps),
  };
}

/** Every product as a change event at once; resolves with events/s until all are indexed and the outbox is empty. */
async function measureThroughput(pool: pg.Pool): Promise<{ events: number; seconds: number }> {
  await waitUntil('the outbox is empty before the throughput run', async () => (await backlog(pool)) === 0);
  await pool.query('TRUNCATE search_documents');
  const ids = (await pool.query<{ id: number }>('SELECT id FROM products ORDER BY id')).rows.map((row) => Number(row.id));
  const listed = await listedCount(pool);
  const client = await pool.connect();
  let started: number;
  try {
    await client.query('BEGIN');
    // As a first import would: every product "created", so the indexer writes every document.
    await recordProductChanges(client, new Map(), ids, 'bench');
    await client.query('COMMIT');
    started = performance.now();
  } finally {
    client.release();
  }
  await waitUntil('every change is indexed', async () => (await indexedCount(pool)) >= listed && (await backlog(pool)) === 0);
  return { events: ids.length, seconds: (performance.now() - started) / 1000 };
}

const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

interface ScenarioReport {
  name: string;
  freshness: FreshnessResult;
  throughput: { events: number; seconds: number };
}

interface Topology {
  api: BenchServer;
  /** Before the throughput run: no reads run then, so the pipeline's processes may use every core. */
  unpin?(): void;
  stop(): Promise<void>;
}

async function runScenario(name: string, databaseName: string, topology: (env: Record<string, string>) => Promise<Topology>): Promise<ScenarioReport> {
  // Imported afresh: the runs change prices.
  const databaseUrl = await prepareBenchDatabase(databaseName, { fresh: true });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const env = { DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: '20', REDIS_URL, REDIS_KEY_PREFIX: `${runPrefix}${databaseName.replace("catalog_bench_", "")}:`, ADMIN_TOKENS: adminTokens };
  const running = await topology(env);
  try {
    // The import's own events drain first (the first run of an empty index), so the quiet run is quiet.
    await waitUntil('the import is relayed and indexed', async () => (await backlog(pool)) === 0 && (await indexedCount(pool)) >= (await listedCount(pool)));
    const hot = await hotProducts(pool);
    const freshness = await measureFreshness(running.api.url, pool, hot, name);
    running.unpin?.();
    const throughput = await measureThroughput(pool);
    return { name, freshness, throughput };
  } finally {
    await running.stop();
    await pool.end();
  }
}

pinSelf(1);
const reports: ScenarioReport[] = [];
reports.push(
  await runScenario('in process', 'catalog_bench_freshness', async (env) => {
    const api = await startServer({ env });
    return { api, stop: () => api.stop() };
  }),
);
const broker = await startKafkaBroker({ defaultPartitions: 8 });
try {
  reports.push(
    await runScenario('through the broker', 'catalog_bench_freshness_kafka', async (base) => {
      const env = { ...base, KAFKA_BROKERS: broker.brokers.join(',') };
      const api = await startServer({ env });
      // Pods of their own in production: here on the load generator's core, so the api's core is the api's.
      const relay = await startServer({ env, args: ['src/main.ts', 'relay'], core: 1 });
      const indexer = await startServer({ env, args: ['src/main.ts', 'indexer'], core: 1 });
      return {
        api,
        unpin() {
          for (const server of [relay, indexer]) if (server.child.pid) pinProcess(server.child.pid, '0,1');
        },
        async stop() {
          await Promise.all([api.stop(), relay.stop(), indexer.stop()]);
        },
      };
    }),
  );
} finally {
  await broker.stop();
  const redis = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(redis, runPrefix);
  redis.disconnect();
}

console.log(
  `\n${loadGenerator}, ${ROUNDS} rounds of ${SECONDS} s without then with updates, 50 connections, api on core 0${hasTaskset ? ', wrk on core 1' : ' (no taskset: unpinned)'}; ` +
    `reads: Zipf over ${HOT_PRODUCTS} hot product pages and their category listings; updates one at a time, ${UPDATE_GAP_MS} ms apart\n`,
);
printTable(reports.flatMap((report) => [report.freshness.quiet, report.freshness.streaming].map((row) => ({ ...row, name: `${row.name} (median round)` }))));
console.log('');
for (const { name, freshness, throughput } of reports) {
  const { latencies, quiet, streaming, losses } = freshness;
  const loss = median(losses);
  console.log(
    `${name}: commit-to-served over ${latencies.length} price updates (${(latencies.length / (SECONDS * ROUNDS)).toFixed(1)}/s): p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms; ` +
      `read req/s (median rounds) ${quiet.rps} -> ${streaming.rps}; lost per round ${losses.map((l) => `${(l * 100).toFixed(1)} %`).join(', ')} -> median ${(loss * 100).toFixed(1)} %; ` +
      `indexer: ${throughput.events} events in ${throughput.seconds.toFixed(2)} s = ${Math.round(throughput.events / throughput.seconds)} events/s`,
  );
}
const [inProcess, viaBroker] = reports;
console.log(
  `targets: p99 < 500 ms in process (${percentile(inProcess?.freshness.latencies ?? [], 0.99).toFixed(1)}), < 1000 ms through the broker (${percentile(viaBroker?.freshness.latencies ?? [], 0.99).toFixed(1)}); ` +
    `>= 3000 events/s (${reports.map((r) => Math.round(r.throughput.events / r.throughput.seconds)).join(', ')}); read loss <= 20 %`,
);

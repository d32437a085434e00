// npm run bench:read-path: one API process on core 0, autocannon on core 1, 50 connections.
//   ceiling        a bare Fastify route with a pre-serialized 8 KB JSON body (the baseline)
//   hot listings   Zipf over 1,000+ listing URLs, near cache on (Redis behind it)
//   product pages  Zipf over every listed product, near cache off: each request is a Redis round trip
//   herd           500 concurrent requests for one cold key: PostgreSQL fetches counted from /metrics
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { listingMix, prepareBenchDatabase } from './bench-database.ts';
import { hasTaskset, loadGenerator, pinSelf, printTable, runLoad, startServer, type LoadResult } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const databaseUrl = await prepareBenchDatabase();
const listings = await listingMix(databaseUrl, 1200);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
const productIds = (await pool.query<{ id: number }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id`)).rows.map((row) => row.id);
await pool.end();
pinSelf(1);

// Each run has its own key prefix, so nothing cached by an earlier run makes a miss look like a hit.
const serviceEnv = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_MAX: '20',
  REDIS_URL,
  REDIS_KEY_PREFIX: `catalog-bench:${randomUUID()}:`,
  ...extra,
});

async function loadsSoFar(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^catalog_cache_loads_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Requests every path once, `concurrency` at a time, so the measured run reads a warm cache. */
async function warm(url: string, paths: readonly string[], concurrency = 50): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const response = await fetch(url + paths[next++]);
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`warm-up ${response.url} answered ${response.status}`);
      }
    }),
  );
}

const results: LoadResult[] = [];

const ceiling = await startServer({ env: {}, args: ['bench/ceiling-server.ts'] });
try {
  results.push(await runLoad({ name: 'ceiling', url: ceiling.url, paths: ['/ceiling'], seconds: SECONDS }));
} finally {
  await ceiling.stop();
}

const hot = await startServer({ env: serviceEnv() });
try {
  await warm(hot.url, listings);
  results.push(await runLoad({ name: 'hot listings (near)', url: hot.url, paths: listings, seconds: SECONDS }));
} finally {
  await hot.stop();
}

const pages = await startServer({ env: serviceEnv({ CACHE_NEAR_ENABLED: 'false' }) });
const productPaths = productIds.map((id) => `/products/${id}`);
try {
  await warm(pages.url, productPaths);
  results.push(await runLoad({ name: 'product pages (Redis)', url: pages.url, paths: productPaths, seconds: SECONDS }));
} finally {
  await pages.stop();
}

const herd = await startServer({ env: serviceEnv() });
let herdLine = '';
try {
  const coldKey = `/products?category=clothing&sort=rating&limit=99`;
  const before = await loadsSoFar(herd.url);
  const latencies = await Promise.all(
    Array.from({ length: 500 }, async () => {
      const started = performance.now();
      const response = await fetch(herd.url + coldKey);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`herd request answered ${response.status}`);
      return performance.now() - started;
    }),
  );
  const fetches = (await loadsSoFar(herd.url)) - before;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number).toFixed(1);
  herdLine = `herd: 500 concurrent requests for one cold key -> ${fetches} PostgreSQL fetch(es); latency p50 ${at(0.5)} ms, p97.5 ${at(0.975)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
} finally {
  await herd.stop();
}

const base = results[0] as LoadResult;
console.log(
  `\n${loadGenerator}, ${SECONDS} s per scenario after warm-up, 50 connections, server on core 0${hasTaskset ? ', load on core 1' : ' (no taskset: unpinned)'}; ` +
    `Zipf over ${listings.length} listing URLs and ${productPaths.length} products\n`,
);
printTable(results, base);
console.log(`\n${herdLine}`);
const hotListings = results[1] as LoadResult;
const productPages = results[2] as LoadResult;
console.log(
  `targets: hot listings >= 0.60x ceiling (${(hotListings.rps / base.rps).toFixed(2)}x) and p99 < 10 ms (${hotListings.p99} ms); ` +
    `product pages >= 0.35x ceiling (${(productPages.rps / base.rps).toFixed(2)}x); herd = 1 fetch`,
);

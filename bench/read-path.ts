// npm run bench:read-path: API processes on core 0, the load generator on core 1, 50 connections.
//   ceiling        a bare Fastify route with a pre-serialized 8 KB JSON body (the baseline)
//   hot listings   Zipf over 1,200 listing URLs, near cache on (Redis behind it)
//   product pages  Zipf over every listed product, near cache off: each request is a Redis round trip
//   herd           500 concurrent requests for one cold key: PostgreSQL fetches counted from /metrics
// This machine's speed drifts by more than 10 % over minutes, so each scenario alternates with the
// ceiling (both servers up, one loaded at a time) and the ratio is the median of the rounds' ratios.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteKeysWithPrefix } from '../test/support/redis-server.ts';
import { listingMix, prepareBenchDatabase } from './bench-database.ts';
import { hasTaskset, loadGenerator, median, medianRun, pinSelf, printTable, runLoad, startServer, type BenchServer, type LoadResult } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const databaseUrl = await prepareBenchDatabase();
const listings = await listingMix(databaseUrl, 1200);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
const productIds = (await pool.query<{ id: number }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id`)).rows.map((row) => row.id);
await pool.end();
const productPaths = productIds.map((id) => `/products/${id}`);
pinSelf(1);

// Each server has its own key prefix, so nothing cached by an earlier run makes a miss look like a
// hit; the keys are deleted at the end so Redis does not carry thousands of them into the next run.
const runPrefix = `catalog-bench:${randomUUID()}:`;
let servers = 0;
const serviceEnv = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_MAX: '20',
  REDIS_URL,
  REDIS_KEY_PREFIX: `${runPrefix}${(servers += 1)}:`,
  ...extra,
});

async function loadsSoFar(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^catalog_cache_loads_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Requests every path once, `concurrency` at a time, so the measured runs read a warm cache. */
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

/** Alternates ceiling and scenario runs; returns the median round of each and the median ratio. */
async function againstCeiling(ceiling: BenchServer, name: string, server: BenchServer, paths: readonly string[]) {
  const rounds: { ceiling: LoadResult; scenario: LoadResult }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const base = await runLoad({ name: 'ceiling', url: ceiling.url, paths: ['/ceiling'], seconds: SECONDS, warmupSeconds: 1 });
    const scenario = await runLoad({ name, url: server.url, paths, seconds: SECONDS, warmupSeconds: 1 });
    rounds.push({ ceiling: base, scenario });
  }
  return {
    ceiling: medianRun(rounds.map((r) => r.ceiling)),
    scenario: medianRun(rounds.map((r) => r.scenario)),
    ratios: rounds.map((r) => r.scenario.rps / r.ceiling.rps),
  };
}

const ceiling = await startServer({ env: {}, args: ['bench/ceiling-server.ts'] });
const rows: (LoadResult & { ratio: number })[] = [];
const ratioLines: string[] = [];
const ratios: Record<string, number> = {};
try {
  for (const [name, env, paths] of [
    ['hot listings (near)', {}, listings],
    ['product pages (Redis)', { CACHE_NEAR_ENABLED: 'false' }, productPaths],
  ] as const) {
    const server = await startServer({ env: serviceEnv(env) });
    try {
      await warm(server.url, paths);
      const result = await againstCeiling(ceiling, name, server, paths);
      // Each scenario has its own ceiling rounds; its ratio is the median of its rounds' ratios.
      ratios[name] = median(result.ratios);
      rows.push({ ...result.ceiling, name: `ceiling beside ${name} (median round)`, ratio: 1 });
      rows.push({ ...result.scenario, name: `${name} (median round)`, ratio: ratios[name] });
      ratioLines.push(`${name}: x ceiling per round ${result.ratios.map((r) => r.toFixed(2)).join(', ')} -> median ${median(result.ratios).toFixed(2)}`);
    } finally {
      await server.stop();
    }
  }
} finally {
  await ceiling.stop();
}

const herd = await startServer({ env: serviceEnv() });
let herdLine = '';
let herdFetches = -1;
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
  herdFetches = (await loadsSoFar(herd.url)) - before;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number).toFixed(1);
  herdLine = `herd: 500 concurrent requests (500 new connections) for one cold key -> ${herdFetches} PostgreSQL fetch(es); latency p50 ${at(0.5)} ms, p97.5 ${at(0.975)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
} finally {
  await herd.stop();
  const redis = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(redis, runPrefix);
  redis.disconnect();
}

console.log(
  `\n${loadGenerator}, ${ROUNDS} rounds of ${SECONDS} s per scenario, each after a ceiling run, 50 connections, servers on core 0${hasTaskset ? ', load on core 1' : ' (no taskset: unpinned)'}; ` +
    `Zipf over ${listings.length} listing URLs and ${productPaths.length} products\n`,
);
printTable(rows, 'x ceiling (median of rounds)');
console.log(`\n${ratioLines.join('\n')}\n${herdLine}`);
const hot = rows.find((row) => row.name.startsWith('hot listings')) as LoadResult;
console.log(
  `targets: hot listings >= 0.60x ceiling (${ratios['hot listings (near)']?.toFixed(2)}x) and p99 < 10 ms (${hot.p99} ms); ` +
    `product pages >= 0.35x ceiling (${ratios['product pages (Redis)']?.toFixed(2)}x); herd = 1 fetch (${herdFetches})`,
);

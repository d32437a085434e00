// npm run bench:memory: one API process with Redis and the default configuration (NODE_OPTIONS
// included, as `npm start` sets it), walked three times over every product page and every category
// listing URL (every category x 3 page sizes x 5 sorts), each URL once per walk, 50 connections;
// after each walk it prints the server's resident set, its peak, the V8 heap and the memory outside
// it (Buffers), and the seconds spent in GC. Memory, not speed: the figures hold on a loaded machine,
// req/s here do not. See docs/memory.md.
//   BENCH_WALKS=3              walks
//   BENCH_WALK_TIMEOUT_S=180   a walk still running then is stopped (its row says so)
//   BENCH_BUILT=1              run dist/main.js without tsx, as the image does (npm run build first)
//   BENCH_HEAP_SNAPSHOT=dir    write a heap snapshot of the server into dir after the last walk
//                              (then: npx tsx bench/heap-retainers.ts dir/*.heapsnapshot)
//   BENCH_SERVER_ENV='A=1 B=2' extra configuration for the server, e.g. NODE_OPTIONS= to measure without the heap bound
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteKeysWithPrefix } from '../test/support/redis-server.ts';
import { prepareBenchDatabase } from './bench-database.ts';
import { hasTaskset, pinSelf, startNodeOptions, startServer, type BenchServer } from './harness.ts';

const WALKS = Number(process.env.BENCH_WALKS ?? 3);
const WALK_TIMEOUT_S = Number(process.env.BENCH_WALK_TIMEOUT_S ?? 180);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = 50;
const LIMITS = [12, 24, 48];
const SORTS = ['newest', 'price_asc', 'price_desc', 'name', 'rating'];
const MiB = 1024 * 1024;

const databaseUrl = await prepareBenchDatabase();
const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
const productIds = (await pool.query<{ id: number }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id`)).rows.map((row) => row.id);
const categories = (await pool.query<{ slug: string }>(`SELECT slug FROM categories ORDER BY slug`)).rows.map((row) => row.slug);
await pool.end();
const productPaths = productIds.map((id) => `/products/${id}`);
const listingPaths = categories.flatMap((slug) => LIMITS.flatMap((limit) => SORTS.map((sort) => `/products?category=${slug}&sort=${sort}&limit=${limit}`)));
const paths = [...productPaths, ...listingPaths];
pinSelf(1);

interface Walk {
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
  complete: boolean;
}

/** Each path once, in order, over CONNECTIONS connections; stopped after WALK_TIMEOUT_S. */
function walk(url: string): Promise<Walk> {
  let next = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        amount: paths.length,
        timeout: 10,
        requests: [{ setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length] as string }) }],
      },
      (error, result) => {
        clearTimeout(timer);
        if (error) return reject(error);
        resolve({
          requests: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          seconds: (performance.now() - started) / 1000,
          complete: result.requests.total >= paths.length,
        });
      },
    );
    const timer = setTimeout(() => instance.stop(), WALK_TIMEOUT_S * 1000);
  });
}

interface Memory {
  rss: number;
  peakRss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Seconds spent in garbage collection since start (all kinds). */
  gcSeconds: number;
  /** Process CPU seconds since start (all threads: concurrent GC included). */
  cpuSeconds: number;
}

/** The server's own figures: /metrics for the V8 heap and external memory, /proc for the resident set and its peak. */
async function memoryOf(server: BenchServer): Promise<Memory> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8').catch(() => '');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return {
    rss: kib('VmRSS') || metric('process_resident_memory_bytes'),
    peakRss: kib('VmHWM'),
    heapUsed: metric('nodejs_heap_size_used_bytes'),
    heapTotal: metric('nodejs_heap_size_total_bytes'),
    external: metric('nodejs_external_memory_bytes'),
    cpuSeconds: metric('process_cpu_seconds_total'),
    gcSeconds: [...text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0),
  };
}

async function heapSnapshot(server: BenchServer, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const before = new Set(await readdir(dir));
  server.child.kill('SIGUSR2');
  // V8 writes the file synchronously on the server's main thread; wait until it is complete.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const written = (await readdir(dir)).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    if (written && (await fetch(`${server.url}/health/live`).then((r) => r.ok, () => false))) return path.join(dir, written);
  }
  throw new Error('no heap snapshot written');
}

const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT;
const extraEnv = Object.fromEntries((process.env.BENCH_SERVER_ENV ?? '').split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const runPrefix = `catalog-bench:${randomUUID()}:`;
const entry = process.env.BENCH_BUILT === '1' ? 'dist/main.js' : 'src/main.ts';
const nodeFlags = snapshotDir ? [`--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${path.resolve(snapshotDir)}`] : [];
const server = await startServer({
  env: { DATABASE_URL: databaseUrl, REDIS_URL, REDIS_KEY_PREFIX: runPrefix, ...extraEnv },
  args: [...nodeFlags, entry, 'api'],
  compiled: entry.endsWith('.js'),
});
const rows: { name: string; walk?: Walk; memory: Memory }[] = [];
try {
  rows.push({ name: 'started', memory: await memoryOf(server) });
  for (let i = 1; i <= WALKS; i += 1) {
    const result = await walk(server.url);
    rows.push({ name: `walk ${i}`, walk: result, memory: await memoryOf(server) });
    console.log(`walk ${i}: ${result.requests} requests in ${result.seconds.toFixed(0)} s`);
  }
  if (snapshotDir) console.log(`heap snapshot: ${await heapSnapshot(server, snapshotDir)}`);
} finally {
  await server.stop();
  const redis = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(redis, runPrefix);
  redis.disconnect();
}

const mib = (bytes: number) => (bytes / MiB).toFixed(0);
console.log(
  `\n${entry} api with Redis, default configuration (NODE_OPTIONS=${extraEnv.NODE_OPTIONS ?? startNodeOptions()})` +
    `${Object.keys(extraEnv).length > 0 ? `, BENCH_SERVER_ENV='${process.env.BENCH_SERVER_ENV}'` : ''}; ` +
    `${CONNECTIONS} connections (autocannon${hasTaskset ? ', server on core 0, load on core 1' : ''}); each walk: ` +
    `${productPaths.length} product pages + ${listingPaths.length} listings (${categories.length} categories x ${LIMITS.length} page sizes x ${SORTS.length} sorts)\n`,
);
console.log('| after | requests | non-2xx | errors | s | CPU s | GC s | RSS MiB | peak RSS MiB | heap used MiB | heap total MiB | external MiB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
rows.forEach(({ name, walk: w, memory: m }, i) => {
  const requests = w ? `${w.requests}${w.complete ? '' : ' (stopped)'}` : '';
  const since = (pick: (memory: Memory) => number) => (i === 0 ? '' : (pick(m) - pick(rows[i - 1]?.memory ?? m)).toFixed(2));
  const cells = [name, requests, w?.non2xx ?? '', w?.errors ?? '', w ? w.seconds.toFixed(0) : '', since((x) => x.cpuSeconds), since((x) => x.gcSeconds), mib(m.rss), mib(m.peakRss), mib(m.heapUsed), mib(m.heapTotal), mib(m.external)];
  console.log(`| ${cells.join(' | ')} |`);
});
const last = rows.at(-1)?.memory;
const second = rows.at(-2)?.memory;
if (last && second && WALKS >= 2) {
  console.log(
    `\ntarget: RSS < 300 MiB (${mib(last.rss)} MiB after the last walk, peak ${mib(last.peakRss)} MiB); ` +
      `flat from walk ${WALKS - 1} to ${WALKS} (${last.rss >= second.rss ? '+' : ''}${mib(last.rss - second.rss)} MiB)`,
  );
}

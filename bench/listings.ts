// npm run bench:listings: GET /products straight from PostgreSQL, no cache, over a fixed mix of
// listing queries. The baseline that the cache work is measured against.
import { listingMix, prepareBenchDatabase } from './bench-database.ts';
import { hasTaskset, loadGenerator, pinSelf, printTable, runLoad, startServer } from './harness.ts';

const URL_COUNT = Number(process.env.BENCH_URLS ?? 60);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

const databaseUrl = await prepareBenchDatabase();
const paths = await listingMix(databaseUrl, URL_COUNT);
pinSelf(1);
// No Redis and no near cache: every request is a PostgreSQL fetch.
const server = await startServer({ env: { DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: '20', CACHE_NEAR_ENABLED: 'false' } });
try {
  // Every URL must answer 200, or the figures measure errors.
  for (const path of paths) {
    const response = await fetch(server.url + path);
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
  }
  const result = await runLoad({ name: 'listings from PostgreSQL', url: server.url, paths, distribution: 'rotation', seconds: SECONDS });
  console.log(`\n${loadGenerator}, ${paths.length} listing URLs in rotation, 50 connections, ${SECONDS} s, server on core 0${hasTaskset ? ', load on core 1' : ' (no taskset: unpinned)'}\n`);
  printTable([result]);
} finally {
  await server.stop();
}

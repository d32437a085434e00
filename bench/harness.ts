// What every benchmark here shares: a real server process pinned to one core, autocannon pinned to
// the other, URL mixes, and a table of req/s and latency percentiles.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../test/support/free-port.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('../', import.meta.url));

export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pins this process (all its threads) to one core, so the load generator does not steal the server's. */
export function pinSelf(core: number): void {
  pinProcess(process.pid, String(core));
}

/** Moves a running process (all its threads) to `cores` ('0', '1', '0,1'). */
export function pinProcess(pid: number, cores: string): void {
  if (hasTaskset) execFileSync('taskset', ['-a', '-cp', cores, String(pid)], { stdio: 'ignore' });
}


/**
 * What `npm start` puts in NODE_OPTIONS (the V8 heap bound; the image sets the same, see
 * test/unit/heap-options.test.ts): servers here run with it unless their env says otherwise.
 */
export function startNodeOptions(): string {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return /NODE_OPTIONS="([^"$]*)/.exec(scripts.start ?? '')?.[1]?.trim() ?? '';
}

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a node script (default: the service's API role) on core 0 (or `core`) and waits until it answers
 * `readyPath`. `compiled`: the arguments name compiled JavaScript, run without tsx, as the image runs it.
 */
export async function startServer(options: { env: Record<string, string>; args?: string[]; readyPath?: string; compiled?: boolean; core?: number }): Promise<BenchServer> {
  const port = await freePort();
  const args = [...(options.compiled ? [] : ['--import', 'tsx']), ...(options.args ?? ['src/main.ts', 'api'])];
  const command = hasTaskset ? 'taskset' : process.execPath;
  const child = spawn(command, hasTaskset ? ['-c', String(options.core ?? 0), process.execPath, ...args] : args, {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: startNodeOptions(), LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...options.env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('server did not become ready');
    const ok = await fetch(`${url}${options.readyPath ?? '/health/ready'}`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Picks URL i with probability proportional to 1/(i+1)^s: a few hot pages, a long tail. */
export function zipf(count: number, s = 1): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i += 1) cdf.push((total += 1 / (i + 1) ** s));
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return () => {
    const target = random() * total;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((cdf[mid] as number) < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

export interface LoadResult {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p975: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
})();

/** The load generator in use: wrk (C, from Debian's packages) when installed, else autocannon (slower: it can cap the figures). */
export const loadGenerator = hasWrk ? 'wrk' : 'autocannon';

/**
 * Sends GETs for `paths` (drawn by Zipf or in rotation) to `url` for `seconds` over `connections`,
 * after a warm-up run, and returns req/s and latency percentiles.
 */
export async function runLoad(options: {
  name: string;
  url: string;
  paths: readonly string[];
  distribution?: 'zipf' | 'rotation';
  connections?: number;
  seconds?: number;
  warmupSeconds?: number;
}): Promise<LoadResult> {
  const connections = options.connections ?? 50;
  const distribution = options.distribution ?? 'zipf';
  const fire = hasWrk ? (seconds: number) => fireWrk(options.url, options.paths, distribution, connections, seconds) : (seconds: number) => fireAutocannon(options.url, options.paths, distribution, connections, seconds);
  if ((options.warmupSeconds ?? 3) > 0) await fire(options.warmupSeconds ?? 3);
  return { name: options.name, ...(await fire(options.seconds ?? 10)) };
}

type Measured = Omit<LoadResult, 'name'>;

async function fireWrk(url: string, paths: readonly string[], distribution: string, connections: number, seconds: number): Promise<Measured> {
  const dir = await mkdtemp(path.join(tmpdir(), 'catalog-bench-'));
  const list = path.join(dir, 'paths.txt');
  await writeFile(list, paths.join('\n') + '\n');
  const script = fileURLToPath(new URL('./wrk-paths.lua', import.meta.url));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, url, '--', list, distribution];
  // Pinned to core 1: the server has core 0. Asynchronous, so a benchmark can measure something else while the load runs.
  const run = promisify(execFile);
  const { stdout: output } = hasTaskset ? await run('taskset', ['-c', '1', 'wrk', ...args]) : await run('wrk', args);
  await rm(dir, { recursive: true, force: true });
  const line = output.split('\n').find((text) => text.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no summary:\n${output}`);
  const summary = JSON.parse(line) as { requests: number; durationUs: number; errors: number; non2xx: number; p50: number; p95: number; p975: number; p99: number };
  return {
    requests: summary.requests,
    rps: Math.round(summary.requests / (summary.durationUs / 1e6)),
    p50: summary.p50,
    p95: summary.p95,
    p975: summary.p975,
    p99: summary.p99,
    errors: summary.errors,
    non2xx: summary.non2xx,
  };
}

async function fireAutocannon(url: string, paths: readonly string[], distribution: string, connections: number, seconds: number): Promise<Measured> {
  const pick = distribution === 'zipf' ? zipf(paths.length) : (() => {
    let next = 0;
    return () => next++ % paths.length;
  })();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, path: paths[pick()] as string }) }],
  });
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    // autocannon reports p90 and p97.5, not p95: the higher one, so a target is never met by rounding.
    p95: result.latency.p97_5,
    p975: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** The load run with the median req/s among `runs`: the figures a table of alternated rounds prints. */
export function medianRun(runs: readonly LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)] as LoadResult;
}

/**
 * `ratio`, when given, adds a column: each row's figure against its baseline, computed by the caller
 * (read-path prints the median of per-round ratios, which a ratio of two median rounds is not).
 */
export function printTable(rows: readonly (LoadResult & { ratio?: number })[], ratioTitle?: string): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p95 ms', 'p97.5 ms', 'p99 ms', 'errors', 'non-2xx', ...(ratioTitle ? [ratioTitle] : [])];
  const lines = rows.map((row) => [
    row.name,
    String(row.rps),
    row.p50.toFixed(2),
    row.p95.toFixed(2),
    row.p975.toFixed(2),
    row.p99.toFixed(2),
    String(row.errors),
    String(row.non2xx),
    ...(ratioTitle ? [row.ratio === undefined ? '' : row.ratio.toFixed(2)] : []),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

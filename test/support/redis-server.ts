import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import type { Redis } from 'ioredis';

/** A throwaway redis-server the test owns (it can be killed without touching the shared one). */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL and wait for exit: an abrupt outage, not a graceful shutdown. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that holds its connections open and answers nothing. */
  freeze(): void;
  thaw(): void;
}


export async function startRedisServer(port?: number, readyTimeoutMs = 5_000, extraArgs: readonly string[] = []): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  // Diskless replication both ways, without its default 5 s delay: a replica a test starts is in
  // sync at once and leaves no dump.rdb in the working directory.
  const replication = ['--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'on-empty-db'];
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...replication, ...extraArgs];
  return spawnRedis(args, chosen, 'Ready to accept connections', readyTimeoutMs);
}

/**
 * A Sentinel watching `masterName` at 127.0.0.1:masterPort, its config file (Sentinel rewrites it)
 * in `dir`; quorum 2 of the three a test starts, a primary is down after `downAfterMs` of silence.
 */
export async function startSentinel(options: { dir: string; masterName: string; masterPort: number; downAfterMs: number; failoverTimeoutMs: number }): Promise<RedisServer> {
  const port = await freePort();
  const file = join(options.dir, `sentinel-${port}.conf`);
  const { masterName } = options;
  await writeFile(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${options.dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${options.masterPort} 2`,
      `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs}`,
      `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n'),
  );
  return spawnRedis([file, '--sentinel'], port, '+monitor master', 5_000);
}

async function spawnRedis(args: string[], chosen: number, readyLine: string, readyTimeoutMs: number): Promise<RedisServer> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on ${chosen} not ready after ${readyTimeoutMs} ms: ${output}`));
    }, readyTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${chosen} exited with ${code}: ${output}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
}

/**
 * Deletes a test's own keys (never FLUSHDB: the shared Redis serves other projects): those under the
 * bare prefix and the cache's, which carry it as a hash tag (`{prefix...}`; braces are literal in
 * a SCAN pattern, and REDIS_KEY_PREFIX allows none of the characters that are not).
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      // One DEL per key: a multi-key DEL would need one slot on a cluster node.
      if (keys.length > 0) deleted += (await Promise.all(keys.map((key) => redis.del(key)))).reduce((sum, n) => sum + n, 0);
    } while (cursor !== '0');
  }
  return deleted;
}

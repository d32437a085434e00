// What keeps a Redis failover from serving invalidated pages: a tag bump counts only once a replica
// has it (a promoted replica would otherwise not know it), and a pod whose subscriber was cut off
// drops its near copies once subscribed again (the invalidations sent meanwhile never reached it).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCatalogCache, type CatalogCache, type OriginResponse } from '../../src/cache/catalog-cache.ts';
import { createInvalidator, type Invalidator } from '../../src/cache/invalidator.ts';
import { createTagKeys } from '../../src/cache/key-space.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { cacheSettings } from '../support/cache-settings.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';

const PREFIX = `catalog-test:${randomUUID()}:`;
const servers: RedisServer[] = [];
const clients: Redis[] = [];
const closing: (() => unknown)[] = [];

async function client(server: RedisServer, commandTimeoutMs = 1_000): Promise<Redis> {
  const created = createRedisClient(server.url, { commandTimeoutMs, maxReconnectDelayMs: 200 });
  clients.push(created);
  expect(await waitForRedisReady(created, 5_000)).toBe(true);
  return created;
}

afterEach(async () => {
  for (const close of closing.splice(0)) await close();
  for (const created of clients.splice(0)) created.disconnect();
  for (const server of servers.splice(0)) {
    server.thaw();
    await server.stop();
  }
});

describe('when an invalidation is sent to a primary with a replica (Sentinel)', () => {
  it('then it resolves only once the replica has the bump, rejects (to be retried) while the replica does not answer, and a lone primary does not wait', async () => {
    const primary = await startRedisServer();
    const replica = await startRedisServer(undefined, 5_000, ['--replicaof', '127.0.0.1', String(primary.port)]);
    servers.push(primary, replica);
    const replicaClient = await client(replica);
    await vi.waitFor(async () => expect(await replicaClient.info('replication')).toContain('master_link_status:up'), { timeout: 10_000, interval: 100 });

    const redis = await client(primary);
    // Just after its sync a replica answers WAIT only once it has sent its first acknowledgement.
    await vi.waitFor(
      async () => {
        await redis.set(`${PREFIX}attached`, '1');
        expect(await redis.wait(1, 100)).toBe(1);
      },
      { timeout: 10_000, interval: 100 },
    );
    const settings = cacheSettings({ REDIS_KEY_PREFIX: PREFIX });
    const invalidator: Invalidator = createInvalidator({ redis, settings, awaitReplicaMs: 200 });
    closing.push(() => invalidator.close());
    const tag = (name: string) => createTagKeys(PREFIX).tag(name);

    await invalidator.invalidate(['product:1']);
    // Acknowledged means replicated: the replica holds the bump the moment the call resolves.
    expect(await replicaClient.get(tag('product:1'))).toBe('1');

    // A replica that holds its connection but answers nothing: the bump may exist on the primary alone.
    replica.freeze();
    await expect(invalidator.invalidate(['product:2'])).rejects.toThrow(/not acknowledged by a replica/);
    replica.thaw();
    await invalidator.invalidate(['product:2']);
    // The retry bumped again: a second bump costs one more miss, never a stale hit.
    expect(await replicaClient.get(tag('product:2'))).toBe('2');

    // After a failover the promoted primary may have no replica at all: nothing to wait for.
    await replica.stop();
    await vi.waitFor(async () => expect(((await redis.call('ROLE')) as unknown[])[2]).toEqual([]), { timeout: 10_000, interval: 100 });
    await invalidator.invalidate(['product:3']);
    expect(await redis.get(tag('product:3'))).toBe('1');
  });
});

describe("when a pod's subscriber is cut off and an invalidation is sent meanwhile", () => {
  it('then its near copies are dropped once it is subscribed again, though their near TTL has not run out', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const redis = await client(server);
    const operator = await client(server);
    // Near copies served for a minute without asking Redis: only an invalidation drops them.
    const settings = cacheSettings({ REDIS_KEY_PREFIX: PREFIX, CACHE_NEAR_TTL_MS: '60000', CACHE_FRESH_TTL_MS: '60000' });
    const cache: CatalogCache = createCatalogCache({ settings, redis, schemaVersion: 1 });
    closing.push(() => cache.close());
    const elsewhere = createInvalidator({ redis: operator, settings });
    closing.push(() => elsewhere.close());

    let version = 1;
    const load = async (): Promise<OriginResponse> => ({ status: 200, body: Buffer.from(`{"version":${version}}`) });
    const read = () => cache.read('product:1', ['product:1'], load);
    await read();
    expect((await read()).tier).toBe('near');
    const channel = createTagKeys(PREFIX).invalidationChannel;
    await vi.waitFor(async () => expect((await operator.pubsub('NUMSUB', channel))[1]).toBe(1), { timeout: 5_000, interval: 20 });

    // The subscriber's connection drops (as on a failover); the invalidation is published to nobody.
    await operator.client('KILL', 'TYPE', 'pubsub');
    version = 2;
    await elsewhere.invalidate(['product:1']);

    await vi.waitFor(
      async () => {
        const answered = await read();
        expect(answered.tier).not.toBe('near');
        expect(answered.response.body.toString()).toBe('{"version":2}');
      },
      { timeout: 5_000, interval: 50 },
    );
  });
});

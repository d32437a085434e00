// The indexer's retry rules, with its ports as plain in-memory stand-ins (the integration tests run
// it on PostgreSQL, Redis and the Kafka broker): what counts as an outage, how long it waits, that it
// heartbeats while waiting and stops when told to.
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.ts';
import type { ProductChangeEvent } from '../../src/catalog/product-change.ts';
import type { SearchDocumentChange } from '../../src/catalog/search-document.ts';
import type { ChangeMessage } from '../../src/events/change-feed.ts';
import { createChangeIndexer, decodeChangeMessage, type ChangeIndexerOptions } from '../../src/events/change-indexer.ts';
import { isUnavailable, retryDelayMs } from '../../src/events/indexing-failures.ts';

const placement = { id: 7, slug: 'seven', categories: [{ id: 1, slug: 'root' }], brand: null, listed: true };
const event: ProductChangeEvent = {
  type: 'catalog.product.changed',
  schemaVersion: 1,
  eventId: '41',
  productId: 7,
  version: 3,
  kind: 'updated',
  changed: ['price'],
  before: placement,
  after: placement,
  actor: 'test',
  committedAt: '2025-01-01T00:00:00.000Z',
};

function message(value: unknown, offset = '0'): ChangeMessage {
  return { topic: 'changes', partition: 0, offset, key: '7', value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) };
}

/** An indexer whose search write fails `failures` times with `error`, and whose waits take no time. */
function indexer(error: unknown, failures: number, overrides: Partial<ChangeIndexerOptions> = {}) {
  const waits: number[] = [];
  const deadLettered: { reason: string; offset: string }[] = [];
  let writes = 0;
  const created = createChangeIndexer({
    documents: async (ids) => ids.map((productId): SearchDocumentChange => ({ productId, version: 3, document: null })),
    searchIndex: {
      async write(changes) {
        if (++writes <= failures) throw error;
        return { applied: changes.length, stale: 0 };
      },
    },
    invalidator: { invalidate: async () => undefined },
    deadLetters: { send: async (sent, _error, reason) => void deadLettered.push({ reason, offset: sent.offset }) },
    log: pino({ level: 'silent' }),
    metrics: new Registry(),
    settings: { concurrency: 2, maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 30_000 },
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    ...overrides,
  });
  return { ...created, waits, deadLettered, writes: () => writes };
}

describe('when a change arrives', () => {
  it('then a valid event decodes, and bad JSON, no value or an unknown schema version are refused', () => {
    expect(decodeChangeMessage(message(event))).toEqual(event);
    expect(() => decodeChangeMessage(message('{'))).toThrow(/not JSON/);
    expect(() => decodeChangeMessage({ ...message(event), value: null })).toThrow(/no value/);
    expect(() => decodeChangeMessage(message({ ...event, schemaVersion: 2 }))).toThrow(/schemaVersion/);
    expect(() => decodeChangeMessage(message({ ...event, committedAt: 'yesterday' }))).toThrow(/committedAt/);
  });
});

describe('when applying a change fails', () => {
  it('then an outage is retried past INDEXER_MAX_ATTEMPTS, never dead-lettered, until it ends', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { processMessage, deadLettered, writes } = indexer(refused, 25);
    const outcome = await processMessage(message(event));
    expect(outcome).toMatchObject({ applied: 1, deadLettered: 0 });
    expect(writes()).toBe(26);
    expect(deadLettered).toEqual([]);
  });

  it('then an error of the change itself is tried INDEXER_MAX_ATTEMPTS times, then dead-lettered', async () => {
    const refused = new pg.DatabaseError('value too long', 0, 'error');
    refused.code = '22001';
    const { processMessage, deadLettered, writes } = indexer(refused, 100);
    const outcome = await processMessage(message(event, '12'));
    expect(outcome).toMatchObject({ applied: 0, deadLettered: 1 });
    expect(writes()).toBe(3);
    expect(deadLettered).toEqual([{ reason: 'search-write-failed', offset: '12' }]);
  });

  it('then the waits grow exponentially from INDEXER_RETRY_BASE_MS up to INDEXER_RETRY_MAX_MS, with jitter', async () => {
    const { processMessage, waits } = indexer(new CatalogError('service-unavailable', 'down'), 12);
    await processMessage(message(event));
    // Cut into heartbeat slices of at most a second: summed per retry they follow the backoff.
    expect(waits.every((wait) => wait <= 1000)).toBe(true);
    const total = waits.reduce((sum, wait) => sum + wait, 0);
    const expected = Array.from({ length: 12 }, (_, index) => retryDelayMs(index + 1, { retryBaseMs: 100, retryMaxMs: 30_000 }, () => 0.5)).reduce((sum, wait) => sum + wait, 0);
    expect(total).toBe(expected);
    expect(retryDelayMs(1, { retryBaseMs: 100, retryMaxMs: 30_000 }, () => 0)).toBe(50);
    expect(retryDelayMs(1, { retryBaseMs: 100, retryMaxMs: 30_000 }, () => 1)).toBe(100);
    expect(retryDelayMs(4, { retryBaseMs: 100, retryMaxMs: 30_000 }, () => 1)).toBe(800);
    expect(retryDelayMs(40, { retryBaseMs: 100, retryMaxMs: 30_000 }, () => 1)).toBe(30_000);
  });

  it('then it heartbeats while it waits, and a failed heartbeat (a rebalance) stops the batch', async () => {
    let beats = 0;
    const { processMessage } = indexer(new CatalogError('service-unavailable', 'down'), 1_000);
    const heartbeat = async () => {
      if (++beats === 5) throw new Error('The group is rebalancing, so a rejoin is needed');
    };
    await expect(processMessage(message(event), { heartbeat })).rejects.toThrow(/rebalancing/);
    expect(beats).toBe(5);
  });

  it('then a shutdown ends the wait, and the batch rejects with the reason', async () => {
    const stopping = new AbortController();
    const { processMessage } = indexer(new CatalogError('service-unavailable', 'down'), 1_000, {
      sleep: async () => stopping.abort(new Error('the indexer is shutting down')),
    });
    await expect(processMessage(message(event), { signal: stopping.signal })).rejects.toThrow(/shutting down/);
  });
});

describe('when an error is classified', () => {
  it('then a dependency out of reach is an outage and a refused statement is not', () => {
    const sqlstate = (code: string) => Object.assign(new pg.DatabaseError('x', 0, 'error'), { code });
    expect(isUnavailable(sqlstate('57P01'))).toBe(true); // admin shutdown
    expect(isUnavailable(sqlstate('40P01'))).toBe(true); // deadlock
    expect(isUnavailable(sqlstate('08006'))).toBe(true); // connection failure
    expect(isUnavailable(sqlstate('P0001'))).toBe(false); // raised by a trigger
    expect(isUnavailable(sqlstate('23505'))).toBe(false); // unique violation
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' }))).toBe(true);
    expect(isUnavailable(new CatalogError('service-unavailable', 'down'))).toBe(true);
    expect(isUnavailable(new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
  });
});

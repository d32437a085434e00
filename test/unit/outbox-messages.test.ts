// What the relay publishes, built from an outbox row without a database or a broker.
import { logLevel } from 'kafkajs';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProductChangeEvent, type ProductChangeBody } from '../../src/catalog/product-change.ts';
import { toChangeMessage } from '../../src/events/in-process-feed.ts';
import { kafkaLogCreator } from '../../src/events/kafka-client.ts';
import { toOutboxMessage, type OutboxRow } from '../../src/store/outbox.ts';
import { capturedLog } from '../support/captured-log.ts';

const placement = { id: 42, slug: 'red-shoe', categories: [{ id: 1, slug: 'footwear' }], brand: null, listed: true };
const body: ProductChangeBody = {
  type: 'catalog.product.changed',
  schemaVersion: 1,
  productId: 42,
  version: 7,
  kind: 'updated',
  changed: ['price'],
  before: placement,
  after: placement,
  actor: 'admin:pim',
};
// Past 2^53: an id is carried as the bigint's digits, never through a float.
const row: OutboxRow = { id: '9007199254740993', productId: 42, event: body, committedAt: new Date('2025-03-01T10:00:00.123Z') };

describe('when an outbox row is turned into the message the relay publishes', () => {
  it('then it is keyed by product id and its value is the stored event plus eventId and committedAt, valid against the schema', () => {
    const message = toOutboxMessage(row);
    expect(message).toMatchObject({ id: '9007199254740993', key: '42', committedAt: Date.parse('2025-03-01T10:00:00.123Z') });
    const event = JSON.parse(message.value) as unknown;
    expect(event).toEqual({ ...body, eventId: '9007199254740993', committedAt: '2025-03-01T10:00:00.123Z' });
    expect(Value.Check(ProductChangeEvent, event)).toBe(true);
  });

  it('then the in-process feed hands it over as a partition would: offset = outbox id, the same key, value and headers', () => {
    const message = toChangeMessage(toOutboxMessage(row));
    expect(message).toMatchObject({ topic: 'in-process', partition: 0, offset: '9007199254740993', key: '42' });
    expect(JSON.parse(message.value?.toString() ?? '')).toMatchObject({ eventId: '9007199254740993', productId: 42 });
    expect(message.headers).toEqual({ 'event-type': 'catalog.product.changed', 'schema-version': '1' });
  });
});

describe('when kafkajs logs the same error again and again during an outage', () => {
  afterEach(() => vi.useRealTimers());

  it('then it is logged once per window, the next one counts what was left out, and other lines pass', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { log, lines } = capturedLog('debug');
    const write = kafkaLogCreator(log, 60_000)();
    const entry = (level: logLevel, message: string) => ({ namespace: 'Connection', level, label: 'ERROR', log: { timestamp: '', message, broker: 'localhost:9092' } });
    for (let attempt = 0; attempt < 5; attempt += 1) write(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    write(entry(logLevel.WARN, 'another warning'));
    write(entry(logLevel.INFO, 'Starting'));
    write(entry(logLevel.INFO, 'Starting'));
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [50, 'Connection error: connect ECONNREFUSED'],
      [40, 'another warning'],
      [30, 'Starting'],
      [30, 'Starting'],
    ]);
    expect(lines[0]).toMatchObject({ namespace: 'Connection', broker: 'localhost:9092' });

    vi.setSystemTime(Date.now() + 61_000);
    write(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    expect(lines.at(-1)).toMatchObject({ msg: 'Connection error: connect ECONNREFUSED', suppressedBefore: 4 });
  });
});

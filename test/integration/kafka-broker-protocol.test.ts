import { connect, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Compression, encodeRecordBatch, startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';
import { ProtocolReader } from '../support/kafka-broker/protocol-reader.ts';
import { ProtocolWriter } from '../support/kafka-broker/protocol-writer.ts';

// These tests speak the wire protocol over a bare socket, for what kafkajs never sends:
// corrupt batches, garbage, unknown API keys, and exact long-poll timing.

const API = { produce: 0, fetch: 1, metadata: 3, apiVersions: 18 } as const;
const CORRUPT_MESSAGE = 2;
const NOT_LEADER_OR_FOLLOWER = 6;
const UNSUPPORTED_VERSION = 35;

/** A bare Kafka connection: size-prefixed frames, v1 request headers, v0 response headers. */
class RawConnection {
  private received = Buffer.alloc(0);
  private readonly waiting = new Map<number, (body: Buffer) => void>();
  private nextCorrelationId = 1;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk]);
      while (this.received.length >= 4 && this.received.length >= 4 + this.received.readInt32BE(0)) {
        const size = this.received.readInt32BE(0);
        const correlationId = this.received.readInt32BE(4);
        const body = this.received.subarray(8, 4 + size);
        this.received = this.received.subarray(4 + size);
        this.waiting.get(correlationId)?.(body);
        this.waiting.delete(correlationId);
      }
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawConnection(socket);
  }

  request(apiKey: number, apiVersion: number, body: ProtocolWriter): Promise<ProtocolReader> {
    const correlationId = this.nextCorrelationId++;
    const frame = new ProtocolWriter().int32(0).int16(apiKey).int16(apiVersion).int32(correlationId).string('raw-test').raw(body.toBuffer());
    frame.patchInt32(0, frame.size - 4);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to api ${apiKey} within 8 s`)), 8_000);
      this.waiting.set(correlationId, (response) => {
        clearTimeout(timer);
        resolve(new ProtocolReader(response));
      });
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error('connection closed before a response'));
      });
      this.socket.write(frame.toBuffer());
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  end(): void {
    this.socket.destroy();
  }

  /** Resolves true if the broker closes the connection within the time limit. */
  async closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  }
}

let broker: KafkaTestBroker;
let connections: RawConnection[] = [];
let kafka: Kafka;

async function openRaw(): Promise<RawConnection> {
  const connection = await RawConnection.open(broker.port);
  connections.push(connection);
  return connection;
}

function produceRequest(topic: string, partition: number, records: Buffer): ProtocolWriter {
  return new ProtocolWriter()
    .string(null)
    .int16(-1)
    .int32(5_000)
    .array([topic], (w, name) => w.string(name).array([partition], (pw, index) => pw.int32(index).bytes(records)));
}

function readProduceResponse(reader: ProtocolReader): { errorCode: number; baseOffset: bigint } {
  const topics = reader.readArray((t) => ({
    name: t.readString(),
    partitions: t.readArray((p) => ({
      partition: p.readInt32(),
      errorCode: p.readInt16(),
      baseOffset: p.readInt64(),
      logAppendTime: p.readInt64(),
      logStartOffset: p.readInt64(),
    })),
  }));
  reader.readInt32();
  const partition = topics[0]?.partitions[0];
  if (!partition) throw new Error('produce response without a partition');
  return partition;
}

function fetchRequest(topic: string, fetchOffset: number, options: { maxWaitMs: number; minBytes: number }): ProtocolWriter {
  return new ProtocolWriter()
    .int32(-1)
    .int32(options.maxWaitMs)
    .int32(options.minBytes)
    .int32(10_000_000)
    .int8(0)
    .int32(0)
    .int32(-1)
    .array([topic], (w, name) =>
      w.string(name).array([0], (pw, partition) => pw.int32(partition).int32(-1).int64(fetchOffset).int64(-1).int32(1_000_000)),
    )
    .array([], () => undefined)
    .string('');
}

function readFetchResponse(reader: ProtocolReader): { errorCode: number; highWatermark: bigint; records: Buffer } {
  reader.readInt32();
  reader.readInt16();
  reader.readInt32();
  const topics = reader.readArray((t) => ({
    name: t.readString(),
    partitions: t.readArray((p) => ({
      partition: p.readInt32(),
      errorCode: p.readInt16(),
      highWatermark: p.readInt64(),
      lastStableOffset: p.readInt64(),
      logStartOffset: p.readInt64(),
      aborted: p.readNullableArray((a) => [a.readInt64(), a.readInt64()]),
      preferredReadReplica: p.readInt32(),
      records: p.readBytes(),
    })),
  }));
  const partition = topics[0]?.partitions[0];
  if (!partition) throw new Error('fetch response without a partition');
  return partition;
}

async function createTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

async function brokerStillServesKafkajs(): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

beforeEach(async () => {
  broker = await startKafkaBroker();
  kafka = new Kafka({ clientId: 'protocol-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  connections = [];
});

afterEach(async () => {
  for (const connection of connections) connection.end();
  await broker.stop();
});

describe('Kafka test broker on the wire', () => {
  it('when a produced batch fails its CRC-32C check, then the partition answers CORRUPT_MESSAGE and nothing is stored', async () => {
    await createTopic('raw-writes');
    const raw = await openRaw();
    const valid = encodeRecordBatch({ records: [{ key: 'sku-1', value: 'price=10' }] });
    const corrupt = Buffer.from(valid);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 2) ^ 0x01, corrupt.length - 2);

    const accepted = readProduceResponse(await raw.request(API.produce, 7, produceRequest('raw-writes', 0, valid)));
    const refused = readProduceResponse(await raw.request(API.produce, 7, produceRequest('raw-writes', 0, corrupt)));

    expect(accepted).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(refused).toMatchObject({ errorCode: CORRUPT_MESSAGE, baseOffset: -1n });
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.fetchTopicOffsets('raw-writes')).toEqual([{ partition: 0, offset: '1', high: '1', low: '0' }]);
    await admin.disconnect();
  });

  it('when a gzip batch from the broker codec is produced, then kafkajs reads its records back', async () => {
    await createTopic('zipped');
    const raw = await openRaw();
    const batch = encodeRecordBatch({ compression: Compression.gzip, records: [{ key: 'k', value: 'first' }, { value: 'second', headers: { origin: 'raw' } }] });
    expect(readProduceResponse(await raw.request(API.produce, 7, produceRequest('zipped', 0, batch))).errorCode).toBe(0);

    const consumer = kafka.consumer({ groupId: 'zipped-readers', sessionTimeout: 3_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'zipped', fromBeginning: true });
    const values: string[] = [];
    const headers: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
        headers.push(message.headers?.origin?.toString() ?? '');
      },
    });
    const deadline = Date.now() + 10_000;
    while (values.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await consumer.disconnect();
    expect(values).toEqual(['first', 'second']);
    expect(headers).toEqual(['', 'raw']);
  });

  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['a negative frame size', Buffer.from('ffffff00', 'hex')],
    ['a frame of 0xff bytes', Buffer.concat([Buffer.from('00000010', 'hex'), Buffer.alloc(16, 0xff)])],
    [
      'a Metadata request whose topic array runs past the frame',
      new ProtocolWriter().int32(19).int16(API.metadata).int16(6).int32(1).string('x').int32(5).int16(3).raw(Buffer.from('ab')).toBuffer(),
    ],
  ])('when it receives %s, then it closes that connection and keeps serving', async (_name, garbage) => {
    const raw = await openRaw();
    raw.write(garbage);

    expect(await raw.closesWithin(3_000)).toBe(true);
    expect(await brokerStillServesKafkajs()).toEqual([]);
  });

  it('when a request has an unknown api key, then it closes that connection and keeps serving', async () => {
    const raw = await openRaw();
    await expect(raw.request(999, 0, new ProtocolWriter())).rejects.toThrow(/closed/);

    const another = await openRaw();
    const versions = await another.request(API.apiVersions, 2, new ProtocolWriter());
    expect(versions.readInt16()).toBe(0);
  });

  it('when a known API is asked at a version it does not implement, then it closes that connection', async () => {
    const raw = await openRaw();
    await expect(raw.request(API.produce, 2, produceRequest('any', 0, Buffer.alloc(0)))).rejects.toThrow(/closed/);
    expect(await brokerStillServesKafkajs()).toEqual([]);
  });

  it('when ApiVersions is asked at v2, then it lists each implemented API at the version kafkajs 2.2 uses', async () => {
    const raw = await openRaw();
    const reader = await raw.request(API.apiVersions, 2, new ProtocolWriter());
    const errorCode = reader.readInt16();
    const apis = reader.readArray((r) => [r.readInt16(), r.readInt16(), r.readInt16()]);
    reader.readInt32();

    expect(errorCode).toBe(0);
    expect(reader.remaining).toBe(0);
    expect(Object.fromEntries(apis.map(([key, , max]) => [key, max]))).toEqual({
      0: 7, 1: 11, 2: 3, 3: 6, 8: 5, 9: 4, 10: 2, 11: 5, 12: 3, 13: 3, 14: 3, 18: 2, 19: 3,
    });
  });

  it('when ApiVersions is asked at a newer version, then it answers UNSUPPORTED_VERSION in the v0 shape with its list', async () => {
    const raw = await openRaw();
    const reader = await raw.request(API.apiVersions, 3, new ProtocolWriter().raw(Buffer.from([0, 0, 0])));
    expect(reader.readInt16()).toBe(UNSUPPORTED_VERSION);
    expect(reader.readArray((r) => r.readInt16() + 0 * r.readInt16() + 0 * r.readInt16())).toContain(API.apiVersions);
    expect(reader.remaining).toBe(0);
  });

  it('when a fetch cannot reach its min bytes, then it answers after max wait with what there is', async () => {
    await createTopic('slow-fill');
    const raw = await openRaw();
    await raw.request(API.produce, 7, produceRequest('slow-fill', 0, encodeRecordBatch({ records: [{ value: 'only one' }] })));

    const startedAt = Date.now();
    const fetched = readFetchResponse(await raw.request(API.fetch, 11, fetchRequest('slow-fill', 0, { maxWaitMs: 400, minBytes: 1_000_000 })));
    const elapsed = Date.now() - startedAt;

    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(broker.activity.fetches.map((fetch) => fetch.endedBy)).toEqual(['max-wait']);
    expect(fetched.highWatermark).toBe(1n);
    expect(fetched.records.length).toBeGreaterThan(0);
  });

  it('when a fetch waits at the end of the log, then the next produce wakes it long before max wait', async () => {
    await createTopic('wake-up');
    const fetcher = await openRaw();
    const producer = await openRaw();

    const pending = fetcher.request(API.fetch, 11, fetchRequest('wake-up', 0, { maxWaitMs: 5_000, minBytes: 1 }));
    await vi.waitUntil(() => broker.activity.fetches[0]?.parked === true, { timeout: 5_000, interval: 10 });
    const longPoll = broker.activity.fetches[0];
    await producer.request(API.produce, 7, produceRequest('wake-up', 0, encodeRecordBatch({ records: [{ value: 'wake up' }] })));
    const fetched = readFetchResponse(await pending);

    expect(longPoll?.endedBy).toBe('appended');
    expect(fetched.highWatermark).toBe(1n);
  });

  it('when fetch failures are injected, then exactly that many fetches fail with NOT_LEADER_OR_FOLLOWER', async () => {
    await createTopic('flaky');
    const raw = await openRaw();
    broker.failNext('fetch', 2);
    const request = () => fetchRequest('flaky', 0, { maxWaitMs: 0, minBytes: 1 });

    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(readFetchResponse(await raw.request(API.fetch, 11, request())).errorCode);

    expect(codes).toEqual([NOT_LEADER_OR_FOLLOWER, NOT_LEADER_OR_FOLLOWER, 0]);
  });
});

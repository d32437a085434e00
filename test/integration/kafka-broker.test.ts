import { connect } from 'node:net';
import { Kafka, logLevel, CompressionTypes, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKafkaBroker, type FetchSeen, type KafkaBrokerOptions, type KafkaTestBroker } from '../support/kafka-broker/index.ts';

// Small group timings (kafkajs defaults are 30 s sessions, 3 s heartbeats) so rebalances take
// a fraction of a second; the broker honours them exactly as Kafka would.
const GROUP_TIMINGS = { sessionTimeout: 3_000, rebalanceTimeout: 4_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 };

interface Delivery {
  consumer: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

/** A kafkajs consumer plus what it received and what it was last assigned. */
interface ConsumerProbe {
  name: string;
  consumer: Consumer;
  deliveries: Delivery[];
  assignment: () => number[];
  /** How many times the member (re)joined the group. */
  joins: () => number;
}

let broker: KafkaTestBroker;
let disconnectors: (() => Promise<void>)[] = [];

async function startBroker(options: KafkaBrokerOptions = {}): Promise<KafkaTestBroker> {
  broker = await startKafkaBroker(options);
  return broker;
}

function kafkaClient(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: broker.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, maxRetryTime: 1_000, retries: 10 },
  });
}

/** Gives up after timeoutMs instead of letting a test hang. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function remember(disconnect: () => Promise<void>): void {
  disconnectors.push(disconnect);
}

async function connectedAdmin(): Promise<Admin> {
  const admin = kafkaClient('test-admin').admin();
  await admin.connect();
  remember(() => admin.disconnect());
  return admin;
}

async function connectedProducer(): Promise<Producer> {
  const producer = kafkaClient('test-producer').producer();
  await producer.connect();
  remember(() => producer.disconnect());
  return producer;
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = await connectedAdmin();
  expect(await admin.createTopics({ topics: [{ topic, numPartitions }] })).toBe(true);
}

async function startConsumer(
  name: string,
  topic: string,
  options: {
    groupId?: string;
    autoCommit?: boolean;
    onMessage?: (message: KafkaMessage, partition: number, consumer: Consumer) => Promise<void>;
    consumerConfig?: Partial<Parameters<Kafka['consumer']>[0]>;
  } = {},
): Promise<ConsumerProbe> {
  const consumer = kafkaClient(name).consumer({ groupId: options.groupId ?? 'catalog-changes', ...GROUP_TIMINGS, ...options.consumerConfig });
  let assignment: number[] = [];
  let joins = 0;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assignment = [...(event.payload.memberAssignment[topic] ?? [])].sort();
    joins += 1;
  });
  const deliveries: Delivery[] = [];
  await consumer.connect();
  remember(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: options.autoCommit ?? true,
    eachMessage: async ({ partition, message }) => {
      await options.onMessage?.(message, partition, consumer);
      deliveries.push({
        consumer: name,
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
      });
    },
  });
  return { name, consumer, deliveries, assignment: () => assignment, joins: () => joins };
}

/** True once the probes' latest assignments split all partitions between them, each getting some. */
function splitBetween(probes: ConsumerProbe[], partitionCount: number): boolean {
  const all = probes.flatMap((probe) => probe.assignment());
  return probes.every((probe) => probe.assignment().length > 0) && all.length === partitionCount && new Set(all).size === partitionCount;
}

async function produceNumbered(producer: Producer, topic: string, from: number, count: number, keys = 30): Promise<void> {
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ key: `product-${(from + i) % keys}`, value: String(from + i) })),
  });
}

const uniqueDeliveries = (deliveries: Delivery[]) => new Set(deliveries.map((d) => `${d.partition}:${d.offset}`));

async function highWatermarks(admin: Admin, topic: string): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.high));
}

/**
 * Waits until, after this call, every partition of the topic was fetched from its end and the fetch
 * found nothing to deliver: whatever the consumers had fetched, duplicates included, has been handed
 * to them by then.
 */
async function consumedToTheEnd(admin: Admin, topic: string): Promise<void> {
  const highs = await highWatermarks(admin, topic);
  const from = broker.activity.fetches.length;
  const parkedAtEnd = (partition: number) =>
    broker.activity.fetches
      .slice(from)
      .some((fetch) => fetch.parked && fetch.partitions.some((p) => p.topic === topic && p.partition === partition && p.fetchOffset >= (highs[partition] ?? 0)));
  await waitFor(`every ${topic} partition fetched at its end`, () => highs.every((_, partition) => parkedAtEnd(partition)));
}

/** The long-poll a consumer has parked on the topic, once there is one. */
async function parkedLongPoll(topic: string): Promise<FetchSeen> {
  let found: FetchSeen | undefined;
  await waitFor(`a long-poll parked on ${topic}`, () => {
    found = broker.activity.fetches.find((fetch) => fetch.parked && fetch.endedBy === undefined && fetch.partitions.some((p) => p.topic === topic));
    return found !== undefined;
  });
  return found as FetchSeen;
}

beforeEach(() => {
  disconnectors = [];
});

afterEach(async () => {
  // Newest first: consumers stop before the admin and producer they may rely on.
  for (const disconnect of disconnectors.reverse()) {
    await Promise.race([disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }
  await broker?.stop();
});

describe('Kafka test broker driven by kafkajs', () => {
  it('when 10,000 keyed messages go to a 3-partition topic, then each key keeps one partition and a 2-member group consumes each message exactly once in partition order', async () => {
    await startBroker();
    await createTopic('product-changes', 3);
    const first = await startConsumer('consumer-a', 'product-changes');
    const second = await startConsumer('consumer-b', 'product-changes');
    await waitFor('the two members to split the three partitions', () => splitBetween([first, second], 3));

    const producer = await connectedProducer();
    const keys = 250;
    const sequenceOfKey = new Map<string, number>();
    for (let sent = 0; sent < 10_000; sent += 500) {
      await producer.send({
        topic: 'product-changes',
        messages: Array.from({ length: 500 }, (_, i) => {
          const key = `sku-${(sent + i) % keys}`;
          const sequence = sequenceOfKey.get(key) ?? 0;
          sequenceOfKey.set(key, sequence + 1);
          return { key, value: String(sequence) };
        }),
      });
    }

    const deliveries = () => [...first.deliveries, ...second.deliveries];
    await waitFor('10,000 deliveries', () => deliveries().length >= 10_000, 20_000);
    const admin = await connectedAdmin();
    await consumedToTheEnd(admin, 'product-changes'); // a duplicate would have shown up by now

    const all = deliveries();
    expect(all).toHaveLength(10_000);
    expect(uniqueDeliveries(all).size).toBe(10_000);
    expect(first.deliveries.length).toBeGreaterThan(0);
    expect(second.deliveries.length).toBeGreaterThan(0);

    const partitionsOfKey = new Map<string, Set<number>>();
    for (const delivery of all) {
      const key = delivery.key ?? '';
      partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(delivery.partition));
    }
    expect(partitionsOfKey.size).toBe(keys);
    expect([...partitionsOfKey.values()].every((partitions) => partitions.size === 1)).toBe(true);
    expect(new Set(all.map((d) => d.partition))).toEqual(new Set([0, 1, 2]));

    const highs = await highWatermarks(admin, 'product-changes');
    for (const partition of [0, 1, 2]) {
      const offsets = all.filter((d) => d.partition === partition).map((d) => d.offset);
      expect(offsets).toEqual(Array.from({ length: highs[partition] ?? -1 }, (_, i) => i));
    }
    const lastSequence = new Map<string, number>();
    for (const delivery of all) {
      const key = delivery.key ?? '';
      expect(Number(delivery.value)).toBe((lastSequence.get(key) ?? -1) + 1);
      lastSequence.set(key, Number(delivery.value));
    }
  }, 40_000);

  describe('consumer group rebalances', () => {
    it('when a member leaves, then the other takes over all partitions; when a new member joins, then the partitions are split again', async () => {
      await startBroker();
      await createTopic('price-changes', 3);
      const producer = await connectedProducer();
      const stayer = await startConsumer('stayer', 'price-changes');
      const leaver = await startConsumer('leaver', 'price-changes');
      await waitFor('an initial split', () => splitBetween([stayer, leaver], 3));

      await leaver.consumer.disconnect();
      await waitFor('the stayer to own every partition', () => stayer.assignment().length === 3);
      await produceNumbered(producer, 'price-changes', 0, 60);
      await waitFor('the stayer to consume everything', () => uniqueDeliveries(stayer.deliveries).size >= 60);
      expect(new Set(stayer.deliveries.map((d) => d.partition))).toEqual(new Set([0, 1, 2]));

      const joiner = await startConsumer('joiner', 'price-changes');
      await waitFor('a split with the new member', () => splitBetween([stayer, joiner], 3));
      const stayerBefore = stayer.deliveries.length;
      await produceNumbered(producer, 'price-changes', 60, 60);
      await waitFor('the second 60 messages', () => stayer.deliveries.length - stayerBefore + joiner.deliveries.length >= 60);

      const afterSplit = [...stayer.deliveries.slice(stayerBefore), ...joiner.deliveries];
      expect(new Set(afterSplit.map((d) => d.value))).toEqual(new Set(Array.from({ length: 60 }, (_, i) => String(60 + i))));
      expect(joiner.deliveries.length).toBeGreaterThan(0);
      expect(joiner.deliveries.every((d) => joiner.assignment().includes(d.partition))).toBe(true);
      expect(stayer.deliveries.slice(stayerBefore).every((d) => stayer.assignment().includes(d.partition))).toBe(true);
    }, 30_000);

    it('when a member stops heartbeating, then its session expires and the others take over its partitions', async () => {
      await startBroker();
      await createTopic('stock-changes', 3);
      let releaseStuck: () => void = () => undefined;
      const stuckForever = new Promise<void>((resolve) => {
        releaseStuck = resolve;
      });
      const healthy = await startConsumer('healthy', 'stock-changes');
      const stuck = await startConsumer('stuck', 'stock-changes', { onMessage: () => stuckForever });
      // Cleanup runs newest first: unblock the stuck member before it is disconnected.
      remember(async () => releaseStuck());
      await waitFor('an initial split', () => splitBetween([healthy, stuck], 3));
      const stuckPartitions = stuck.assignment();

      const producer = await connectedProducer();
      const blockedAt = Date.now();
      await produceNumbered(producer, 'stock-changes', 0, 60);
      await waitFor('the healthy member to own every partition', () => healthy.assignment().length === 3, 10_000);
      const takeoverMs = Date.now() - blockedAt;

      await waitFor('the stuck partitions to be consumed by the healthy member', () =>
        stuckPartitions.every((partition) => healthy.deliveries.some((d) => d.partition === partition)),
      );
      expect(uniqueDeliveries(healthy.deliveries).size).toBe(60);
      expect(stuck.deliveries).toHaveLength(0);
      // Evicted by the session timeout, not earlier.
      expect(takeoverMs).toBeGreaterThanOrEqual(GROUP_TIMINGS.sessionTimeout - 500);
    }, 30_000);
  });

  describe('committed offsets', () => {
    it.each([
      { restartBroker: false, scenario: 'the consumer restarts' },
      { restartBroker: true, scenario: 'the consumer and the broker restart' },
    ])('when $scenario, then consumption resumes at the commit: nothing committed comes again, nothing uncommitted is lost', async ({ restartBroker }) => {
      await startBroker();
      await createTopic('catalog-updates', 3);
      const producer = await connectedProducer();
      await produceNumbered(producer, 'catalog-updates', 0, 300);
      let admin = await connectedAdmin();

      let processed = 0;
      const before = await startConsumer('before-restart', 'catalog-updates', {
        autoCommit: false,
        onMessage: async (message, partition, consumer) => {
          processed += 1;
          if (processed <= 120) {
            await consumer.commitOffsets([{ topic: 'catalog-updates', partition, offset: String(Number(message.offset) + 1) }]);
          }
        },
      });
      await waitFor('180 processed messages', () => processed >= 180);
      await before.consumer.disconnect();

      const committed = (await admin.fetchOffsets({ groupId: 'catalog-changes', topics: ['catalog-updates'] }))[0]?.partitions ?? [];
      // -1 means nothing committed there, so the group starts that partition from the beginning.
      const committedOffset = (partition: number) => Math.max(0, Number(committed.find((p) => p.partition === partition)?.offset ?? -1));
      expect(committed.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)).toBe(120);

      if (restartBroker) {
        await broker.restart();
        admin = await connectedAdmin();
        expect(await highWatermarks(admin, 'catalog-updates')).toSatisfy((highs: number[]) => highs.reduce((a, b) => a + b) === 300);
      }

      const after = await startConsumer('after-restart', 'catalog-updates');
      await waitFor('the 180 uncommitted messages', () => after.deliveries.length >= 180);
      await consumedToTheEnd(admin, 'catalog-updates'); // a re-delivery would have shown up by now

      expect(after.deliveries).toHaveLength(180);
      expect(after.deliveries.every((d) => d.offset >= committedOffset(d.partition))).toBe(true);
      const highs = await highWatermarks(admin, 'catalog-updates');
      for (const partition of [0, 1, 2]) {
        const expected = Array.from({ length: (highs[partition] ?? 0) - committedOffset(partition) }, (_, i) => committedOffset(partition) + i);
        expect(after.deliveries.filter((d) => d.partition === partition).map((d) => d.offset)).toEqual(expected);
      }
    }, 30_000);
  });

  describe('fault injection', () => {
    it('when every connection drops during consumption, then the consumer recovers without losing a message', async () => {
      await startBroker();
      await createTopic('image-changes', 3);
      const producer = await connectedProducer();
      const consumer = await startConsumer('survivor', 'image-changes');
      await waitFor('an assignment', () => consumer.assignment().length === 3);

      const bystander = connect(broker.port, '127.0.0.1');
      const bystanderClosed = new Promise<void>((resolve) => bystander.on('close', () => resolve()));
      bystander.on('error', () => undefined);
      await new Promise<void>((resolve) => bystander.on('connect', () => resolve()));

      let dropped = false;
      for (let sent = 0; sent < 3_000; sent += 100) {
        await produceNumbered(producer, 'image-changes', sent, 100);
        if (sent + 100 === 1_000) {
          // Mid-stream: the consumer has read some, and 2,000 are yet to be produced.
          await waitFor('500 deliveries', () => consumer.deliveries.length >= 500);
          broker.dropConnections();
          dropped = true;
          expect(consumer.deliveries.length).toBeLessThan(3_000);
        }
      }
      await bystanderClosed;
      expect(dropped).toBe(true);

      await waitFor('all 3,000 messages', () => uniqueDeliveries(consumer.deliveries).size >= 3_000, 20_000);
      expect(new Set(consumer.deliveries.map((d) => d.value)).size).toBe(3_000);
    }, 40_000);

    it('when the broker restarts under a running consumer, then it reconnects and loses nothing', async () => {
      await startBroker();
      await createTopic('category-changes', 2);
      const producer = await connectedProducer();
      const consumer = await startConsumer('steadfast', 'category-changes');
      await waitFor('an assignment', () => consumer.assignment().length === 2);
      await produceNumbered(producer, 'category-changes', 0, 200);
      await waitFor('the first 200', () => uniqueDeliveries(consumer.deliveries).size >= 200);

      await broker.restart();
      await produceNumbered(producer, 'category-changes', 200, 200);
      await waitFor('all 400', () => uniqueDeliveries(consumer.deliveries).size >= 400, 20_000);
      expect(new Set(consumer.deliveries.map((d) => d.value)).size).toBe(400);
    }, 30_000);

    it('when the next produce requests fail with a retriable error, then the producer retries and each message is stored once', async () => {
      await startBroker();
      await createTopic('retried-writes', 1);
      const producer = await connectedProducer();
      let produceRequests = 0;
      producer.on(producer.events.REQUEST, (event) => {
        if (event.payload.apiName === 'Produce') produceRequests += 1;
      });

      broker.failNext('produce', 2);
      await produceNumbered(producer, 'retried-writes', 0, 10);

      expect(produceRequests).toBe(3);
      expect(await highWatermarks(await connectedAdmin(), 'retried-writes')).toEqual([10]);
    });

    it('when the next fetch requests fail with a retriable error, then the consumer retries and receives every message', async () => {
      await startBroker();
      await createTopic('retried-reads', 2);
      const producer = await connectedProducer();
      await produceNumbered(producer, 'retried-reads', 0, 50);
      let fetchRequests = 0;

      broker.failNext('fetch', 3);
      const consumer = await startConsumer('persistent', 'retried-reads');
      consumer.consumer.on(consumer.consumer.events.REQUEST, (event) => {
        if (event.payload.apiName === 'Fetch') fetchRequests += 1;
      });
      await waitFor('all 50 messages', () => uniqueDeliveries(consumer.deliveries).size >= 50);

      expect(new Set(consumer.deliveries.map((d) => d.value)).size).toBe(50);
      expect(fetchRequests).toBeGreaterThanOrEqual(4);
      // kafkajs answers NOT_LEADER_OR_FOLLOWER on a fetch by refreshing metadata and rejoining.
      expect(consumer.joins()).toBeGreaterThan(1);
    }, 20_000);

    it('when responses are delayed, then requests still succeed but take at least the delay', async () => {
      await startBroker();
      await createTopic('slow-lane', 1);
      const admin = await connectedAdmin();

      broker.delayResponses(250);
      const startedAt = Date.now();
      expect(await highWatermarks(admin, 'slow-lane')).toEqual([0]);
      const delayed = Date.now() - startedAt;
      broker.delayResponses(0);
      const delayedBefore = broker.activity.delayedResponses;
      await highWatermarks(admin, 'slow-lane');

      expect(delayed).toBeGreaterThanOrEqual(240);
      expect(delayedBefore).toBeGreaterThan(0);
      // Turned off, the delay holds back no response: the next round trip was answered at once.
      expect(broker.activity.delayedResponses).toBe(delayedBefore);
    });
  });

  describe('produce and fetch behaviour', () => {
    it('when a consumer long-polls with default fetch settings, then a new message arrives long before the 5 s max wait', async () => {
      await startBroker();
      await createTopic('fresh-prices', 1);
      const producer = await connectedProducer();
      const received: string[] = [];
      const consumer = await startConsumer('default-fetch', 'fresh-prices', {
        consumerConfig: { maxWaitTimeInMs: 5_000 },
        onMessage: async (message) => {
          received.push(message.value?.toString() ?? '');
        },
      });
      await waitFor('an assignment', () => consumer.assignment().length === 1);
      const longPoll = await parkedLongPoll('fresh-prices');
      expect(longPoll.maxWaitMs).toBe(5_000);

      await producer.send({ topic: 'fresh-prices', messages: [{ value: 'now' }] });
      await waitFor('the message', () => received.length === 1, 6_000);
      // Woken by the append, not by its 5 s max wait.
      expect(longPoll.endedBy).toBe('appended');
      // Otherwise disconnecting waits out the consumer's next 5 s long-poll.
      broker.dropConnections();
    });

    it('when messages are produced with acks=0 and gzip, then they are stored and read back intact', async () => {
      await startBroker();
      await createTopic('fire-and-forget', 1);
      const producer = await connectedProducer();
      const admin = await connectedAdmin();
      await producer.send({ topic: 'fire-and-forget', acks: 0, messages: [{ key: 'a', value: 'unacknowledged' }] });
      await producer.send({
        topic: 'fire-and-forget',
        compression: CompressionTypes.GZIP,
        messages: [
          { key: 'b', value: 'zipped-1', headers: { source: 'feed' } },
          { key: 'c', value: 'zipped-2' },
        ],
      });
      await waitFor('three stored messages', async () => (await highWatermarks(admin, 'fire-and-forget'))[0] === 3);

      const consumer = await startConsumer('reader', 'fire-and-forget');
      await waitFor('three deliveries', () => consumer.deliveries.length >= 3);
      expect(consumer.deliveries.map((d) => [d.offset, d.key, d.value])).toEqual([
        [0, 'a', 'unacknowledged'],
        [1, 'b', 'zipped-1'],
        [2, 'c', 'zipped-2'],
      ]);
    });

    it('when offsets are listed, then earliest, latest and by-timestamp answers match the log', async () => {
      await startBroker();
      await createTopic('timed', 1);
      const producer = await connectedProducer();
      const base = 1_700_000_000_000;
      await producer.send({
        topic: 'timed',
        messages: [0, 1, 2, 3, 4].map((i) => ({ value: `m${i}`, timestamp: String(base + i * 1_000) })),
      });
      const admin = await connectedAdmin();

      expect(await admin.fetchTopicOffsets('timed')).toEqual([{ partition: 0, offset: '5', high: '5', low: '0' }]);
      expect(await admin.fetchTopicOffsetsByTimestamp('timed', base + 2_500)).toEqual([{ partition: 0, offset: '3' }]);
      expect(await admin.fetchTopicOffsetsByTimestamp('timed', base)).toEqual([{ partition: 0, offset: '0' }]);
    });
  });

  describe('topics', () => {
    it('when auto-creation is on, then producing to an unknown topic creates it with the default partition count', async () => {
      await startBroker({ autoCreateTopics: true, defaultPartitions: 2 });
      const producer = await connectedProducer();
      await producer.send({ topic: 'born-on-write', messages: [{ value: 'first' }] });

      const metadata = await (await connectedAdmin()).fetchTopicMetadata({ topics: ['born-on-write'] });
      expect(metadata.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1]);
    });

    it('when auto-creation is off, then producing to an unknown topic fails and creates nothing', async () => {
      await startBroker({ autoCreateTopics: false });
      const producer = kafkaClient('strict-producer').producer({ retry: { retries: 1, initialRetryTime: 20 } });
      await producer.connect();
      remember(() => producer.disconnect());

      await expect(producer.send({ topic: 'never-created', messages: [{ value: 'x' }] })).rejects.toThrow(/does not host this topic-partition/);
      expect(await (await connectedAdmin()).listTopics()).not.toContain('never-created');
    });

    it('when a topic is created twice or with zero partitions, then the broker refuses', async () => {
      await startBroker();
      const admin = await connectedAdmin();
      expect(await admin.createTopics({ topics: [{ topic: 'once', numPartitions: 2 }] })).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'once', numPartitions: 2 }] })).toBe(false);
      await expect(admin.createTopics({ topics: [{ topic: 'empty', numPartitions: 0 }] })).rejects.toThrow(/Topic creation errors/);
      await expect(admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] })).rejects.toThrow(
        /Topic creation errors/,
      );
      expect((await admin.listTopics()).sort()).toEqual(['once']);
    });
  });
});

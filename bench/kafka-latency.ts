// Produce-to-consume latency through the in-memory test broker, with kafkajs's default fetch
// settings (maxWaitTimeInMs 5000, minBytes 1), so pipeline benchmarks know the broker's share.
// Usage: npm run bench:kafka [-- <messages>]
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaBroker } from '../test/support/kafka-broker/index.ts';

const MESSAGES = Number(process.argv[2] ?? 2_000);
const WARMUP = 50;
const TIME_LIMIT_MS = 120_000;

const limit = setTimeout(() => {
  console.error(`kafka latency benchmark did not finish within ${TIME_LIMIT_MS / 1000} s`);
  process.exit(1);
}, TIME_LIMIT_MS);
limit.unref();

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function describe(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const format = (ms: number) => `${ms.toFixed(2)} ms`;
  return `${label.padEnd(28)} p50 ${format(percentile(sorted, 50))}  p99 ${format(percentile(sorted, 99))}  max ${format(sorted.at(-1) ?? NaN)}`;
}

const broker = await startKafkaBroker({ autoCreateTopics: false });
const kafka = new Kafka({ clientId: 'latency-bench', brokers: broker.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: 'latency', numPartitions: 1 }] });
await admin.disconnect();

const total = WARMUP + MESSAGES;
const sentAt = new Array<number>(total);
const receivedAt = new Array<number>(total);
let received = 0;
let allReceived: () => void = () => undefined;
const done = new Promise<void>((resolve) => {
  allReceived = resolve;
});

const consumer = kafka.consumer({ groupId: 'latency-bench' });
await consumer.connect();
await consumer.subscribe({ topic: 'latency', fromBeginning: true });
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
await consumer.run({
  eachMessage: async ({ message }) => {
    receivedAt[Number(message.value?.toString())] = performance.now();
    if (++received === total) allReceived();
  },
});
await joined;

const producer = kafka.producer();
await producer.connect();
const ackedIn: number[] = [];
for (let i = 0; i < total; i++) {
  sentAt[i] = performance.now();
  await producer.send({ topic: 'latency', messages: [{ value: String(i) }] });
  if (i >= WARMUP) ackedIn.push(performance.now() - (sentAt[i] ?? 0));
}
await done;

const endToEnd = Array.from({ length: MESSAGES }, (_, i) => (receivedAt[WARMUP + i] ?? NaN) - (sentAt[WARMUP + i] ?? NaN));
console.log(`kafka test broker, ${MESSAGES} messages sent one at a time (acks=-1), default fetch settings`);
console.log(describe('produce (send until acked)', ackedIn));
console.log(describe('produce -> consume', endToEnd));

await producer.disconnect();
// The consumer is parked in a 5 s long-poll; closing the broker's side ends it at once.
broker.dropConnections();
await consumer.disconnect();
await broker.stop();

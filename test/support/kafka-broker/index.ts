import { KafkaTestBroker, type KafkaBrokerOptions } from './broker.ts';

export { KafkaTestBroker, type KafkaBrokerOptions } from './broker.ts';
export type { BrokerActivity, FetchSeen, LongPollEnd } from './broker-activity.ts';
export { ErrorCode } from './error-codes.ts';
export type { FailableApi } from './fault-plan.ts';
export { Compression, encodeRecordBatch, decodeRecordBatch } from './record-batch.ts';

/** Starts an in-memory Kafka broker on 127.0.0.1 (a free port unless one is given). */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaTestBroker> {
  const broker = new KafkaTestBroker(options);
  await broker.start();
  return broker;
}

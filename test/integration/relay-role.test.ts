// The relay role as the container runs it: a process of its own that publishes the outbox to Kafka,
// answers the probes and /metrics, and exits cleanly on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { markOutboxPublished, productsWithVariants, readTopic, restock, unpublishedCount, waitFor, type TopicReader } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

const TOPIC = 'relay-role-changes';
let database: Database;
let databaseName: string;
let broker: KafkaTestBroker;
let relay: ServiceProcess | undefined;
let reader: TopicReader | undefined;

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_test_relay_role');
  databaseName = clone.name;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  await markOutboxPublished(database.primary);
  broker = await startKafkaBroker();
  relay = await startServiceProcess(
    { DATABASE_URL: clone.url, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_CHANGE_TOPIC: TOPIC, OUTBOX_POLL_INTERVAL_MS: '100', LOG_LEVEL: 'info' },
    90_000,
    'relay',
  );
});

afterAll(async () => {
  await reader?.stop();
  if (relay?.child.exitCode === null) await relay.stop();
  await broker?.stop();
  await database?.close();
  await dropDatabase(databaseName);
});

describe('when the relay role runs as a process', () => {
  it('then it answers liveness, readiness and /metrics, and publishes a write to the topic', async () => {
    const service = relay as ServiceProcess;
    expect((await fetch(`${service.address}/health/live`)).status).toBe(200);
    const ready = await fetch(`${service.address}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', postgres: 'up', redis: 'not configured' });

    reader = await readTopic(broker.brokers, TOPIC);
    const [product] = await productsWithVariants(database.primary, 1);
    await restock(database.primary, [product as number]);
    await waitFor('the change on the topic', () => reader?.received.some((message) => message.event.productId === product) ?? false);
    // Marked once the broker acknowledged, which may be a moment after a consumer sees it.
    await waitFor('the row marked published', async () => (await unpublishedCount(database.primary)) === 0);
    let metrics = '';
    await waitFor('the publish counted', async () => {
      metrics = await (await fetch(`${service.address}/metrics`)).text();
      return /^catalog_change_events_published_total 1$/m.test(metrics);
    });
    expect(metrics).toMatch(/^catalog_outbox_relay_leader 1$/m);
    expect(metrics).toMatch(/^catalog_outbox_backlog 0$/m);
    expect(metrics).toMatch(/^catalog_outbox_oldest_age_seconds 0$/m);
    expect(metrics).toMatch(/^catalog_outbox_publish_failures_total 0$/m);
  });

  it('then SIGTERM releases the lock and ends the process with 0', async () => {
    const service = relay as ServiceProcess;
    expect(await service.stop()).toBe(0);
    expect(service.output()).toMatch(/shut down cleanly/);
    expect(service.output()).not.toMatch(/shutdown step failed/);
    const { rows } = await database.primary.query(
      "SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
    );
    expect(rows).toHaveLength(0);
  });
});

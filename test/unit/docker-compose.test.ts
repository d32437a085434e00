// docker-compose.yml cannot be run here (no Docker): it is parsed, and what it names is checked
// against the repository: the services it depends on, the Dockerfile it builds, the roles it runs,
// the hosts in its URLs, the configuration its environment sets and the topics it creates.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { ROLES } from '../../src/main.ts';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { disable?: boolean; test?: string[] };
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
  deploy?: { replicas?: number };
}

const root = new URL('../../', import.meta.url);
// `merge`: the file shares settings through YAML merge keys (<<), as Compose reads them.
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { services } = compose;
const configSource = readFileSync(new URL('src/config.ts', root), 'utf8');
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const imageEntrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
// The services that run the catalog's image, and the role each runs (its command, or the entrypoint's tail).
const catalog = Object.entries(services).filter(([, service]) => service.build === '.');
const roleOf = (service: Service) => service.command?.[0] ?? service.entrypoint?.slice(imageEntrypoint.length)[0];
const LONG_RUNNING = ['api', 'relay', 'indexer'];

describe('when docker-compose.yml is read', () => {
  it('then OpenSearch 2 runs as a single node without the security plugin, on a small fixed heap', () => {
    const opensearch = services.opensearch!;
    expect(opensearch.image).toMatch(/^opensearchproject\/opensearch:2\.\d+\.\d+$/);
    expect(opensearch.environment).toMatchObject({ 'discovery.type': 'single-node', DISABLE_SECURITY_PLUGIN: 'true' });
    expect(opensearch.environment!.OPENSEARCH_JAVA_OPTS).toMatch(/^-Xms(\d+)m -Xmx\1m$/);
  });

  it('then PostgreSQL 15, Redis 7 and Kafka are there, each with a health check', () => {
    expect(services.postgres!.image).toBe('postgres:15');
    expect(services.redis!.image).toBe('redis:7');
    for (const name of ['postgres', 'redis', 'opensearch', 'kafka']) expect(services[name]?.healthcheck?.test, name).toBeDefined();
  });

  it('then Kafka runs in KRaft mode as one broker and controller, reached by the catalog as kafka:9092', () => {
    const kafka = services.kafka!;
    expect(kafka.image).toMatch(/^apache\/kafka:3\.\d+\.\d+$/);
    const env = kafka.environment!;
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    expect(env.KAFKA_LISTENERS).toContain('CONTROLLER://:9093');
    expect(env.KAFKA_ADVERTISED_LISTENERS!.split(',')).toContain('INTERNAL://kafka:9092');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    for (const [name, service] of catalog) expect(service.environment!.KAFKA_BROKERS, name).toBe('kafka:9092');
  });

  it('then a one-shot service creates the change topic with 12 partitions and the dead-letter topic, once Kafka is healthy', () => {
    const topics = services['kafka-topics']!;
    expect(topics.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    const script = topics.command!.join(' ');
    const settings = services.api!.environment!;
    const created = [...script.matchAll(/--create --if-not-exists\s+--topic (\S+) --partitions (\d+)/g)].map(([, topic, partitions]) => [topic, Number(partitions)]);
    expect(created).toEqual([
      [settings.KAFKA_CHANGE_TOPIC, 12],
      [settings.KAFKA_DEAD_LETTER_TOPIC, 1],
    ]);
    // The names the roles fall back to without these variables: one change to config.ts shows here.
    const defaults = loadConfig({ KAFKA_BROKERS: 'kafka:9092' }).changeFeed.kafka!;
    expect([settings.KAFKA_CHANGE_TOPIC, settings.KAFKA_DEAD_LETTER_TOPIC]).toEqual([defaults.changeTopic, defaults.deadLetterTopic]);
  });

  it('then the api is built from the Dockerfile and reaches each dependency by its service name', () => {
    const api = services.api!;
    expect(api.build).toBe('.');
    expect(existsSync(new URL('Dockerfile', root))).toBe(true);
    expect(new URL(api.environment!.DATABASE_URL!).hostname).toBe('postgres');
    expect(new URL(api.environment!.REDIS_URL!).hostname).toBe('redis');
    expect(new URL(api.environment!.OPENSEARCH_URL!).hostname).toBe('opensearch');
    expect(api.environment!.OPENSEARCH_INDEX).toBe('catalog-products');
    expect(api.ports).toEqual(['3000:3000']);
  });

  it('then the image carries the synonyms file where the compiled engines look for it', () => {
    expect(dockerfile).toContain('COPY src/search/synonyms.txt ./dist/search/synonyms.txt');
  });

  it('then every role of the entry point runs from the one image, a one-shot role with its name fixed in the image entrypoint', () => {
    const run = catalog.map(([, service]) => roleOf(service));
    expect(new Set(run)).toEqual(new Set(Object.keys(ROLES)));
    for (const [name, service] of catalog) {
      expect(service.image, name).toBe('catalog-service:local');
      if (service.entrypoint) expect(service.entrypoint.slice(0, imageEntrypoint.length), name).toEqual(imageEntrypoint);
    }
  });

  it('then the long-running roles keep the image health check, restart, and outlast their own shutdown before Docker kills them', () => {
    const { shutdown } = loadConfig(services.api!.environment);
    for (const name of LONG_RUNNING) {
      const service = services[name]!;
      expect(service.healthcheck, name).toBeUndefined();
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.profiles, name).toBeUndefined();
      expect(Number(/^(\d+)s$/.exec(service.stop_grace_period ?? '10s')![1]) * 1000, name).toBeGreaterThan(shutdown.delayMs + shutdown.timeoutMs);
    }
    // One relay publishes, the other stands by.
    expect(services.relay!.deploy?.replicas).toBe(2);
  });

  it('then the one-shot roles serve nothing to health-check, and all but migrate wait in the tools profile for `docker compose run`', () => {
    for (const [name, service] of catalog.filter(([, each]) => !LONG_RUNNING.includes(roleOf(each)!))) {
      expect(service.healthcheck, name).toEqual({ disable: true });
      expect(service.restart, name).toBe('no');
      expect(service.profiles, name).toEqual(name === 'migrate' ? undefined : ['tools']);
    }
  });

  it('then every service depended on, volume mounted and role run exists, and each waits for what it needs', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
    }
    expect(services.api!.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' }, opensearch: { condition: 'service_healthy' } });
    for (const name of ['relay', 'indexer', 'replay-dead-letters']) {
      expect(services[name]!.depends_on, name).toMatchObject({ migrate: { condition: 'service_completed_successfully' }, 'kafka-topics': { condition: 'service_completed_successfully' } });
    }
    expect(services.indexer!.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    const mounted = Object.values(services).flatMap((service) => (service.volumes ?? []).map((volume) => volume.split(':')[0]!));
    expect(mounted.every((volume) => volume in compose.volumes)).toBe(true);
  });

  it('then every variable a catalog service is given is a setting of src/config.ts, and every URL names a service', () => {
    for (const [name, service] of catalog) {
      const unknown = Object.keys(service.environment!).filter((variable) => !configSource.includes(`  ${variable}: Type.`));
      expect(unknown, name).toEqual([]);
      for (const variable of ['DATABASE_URL', 'REDIS_URL', 'OPENSEARCH_URL']) expect(services, `${name} ${variable}`).toHaveProperty(new URL(service.environment![variable]!).hostname);
      expect(() => loadConfig(service.environment), name).not.toThrow();
    }
  });
});

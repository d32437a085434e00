// Every overlay under k8s/overlays is rendered with `kubectl kustomize`, validated against the
// Kubernetes, KEDA and prometheus-operator schemas (kubernetes-models), and held to what the service
// needs of its manifests: probes on routes the roles answer, sizes and a locked-down security context
// on every pod, a shutdown that fits its grace period, autoscalers aimed at real Deployments, an
// indexer count within the topic's partitions, and alerts and panels on metrics the service exports.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, SETTING_NAMES, type Config } from '../../src/config.ts';
import { ROLES } from '../../src/main.ts';
import { memoryBudget } from '../../src/roles/memory-budget.ts';
import {
  containerEnvironment,
  K8S_DIR,
  kubectlVersion,
  metricNamesIn,
  named,
  overlayNames,
  quantity,
  render,
  routesIn,
  selects,
  validate,
  workloads,
  type Manifest,
  type Workload,
} from '../support/kubernetes-manifests.ts';
import { buildServiceSurface, type ServiceSurface } from '../support/service-surface.ts';

const root = new URL('../../', import.meta.url);
const operationsDoc = readFileSync(new URL('docs/operations.md', root), 'utf8');
// How long a role may linger after a clean shutdown before it exits (src/roles/shutdown.ts).
const LINGER_MS = Number(/const LINGER_MS = ([\d_]+);/.exec(readFileSync(new URL('src/roles/shutdown.ts', root), 'utf8'))![1]!.replace(/_/g, ''));
// The annotation on the indexer Deployment that declares the change topic's partition count.
const PARTITIONS_ANNOTATION = 'catalog.example.com/change-topic-partitions';
const SECRET_NAME = 'catalog-secrets';
// What a Secret key is set to when the test resolves a container's configuration (the Secret itself is the operator's).
const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgres://catalog@postgres.example/catalog',
  DATABASE_REPLICA_URL: 'postgres://catalog@replica.example/catalog',
  REDIS_URL: 'redis://redis.example:6379',
  OPENSEARCH_URL: 'https://opensearch.example:9200',
  ADMIN_TOKENS: `ops:${'0'.repeat(64)}:read+write`,
};

const kubectl = kubectlVersion();
const ci = process.env.CI === 'true';
if (!kubectl) {
  const reason = 'kubectl is not installed (or not on PATH): the Kubernetes manifests under k8s/ cannot be rendered. Install kubectl v1.32 (kustomize v5.5).';
  if (ci) throw new Error(`${reason} CI=true, so this is a failure, not a skip.`);
  console.error(`\n*** SKIPPING test/unit/k8s-manifests.test.ts: ${reason} ***\n`);
}

interface Rendered {
  overlay: string;
  manifests: Manifest[];
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) return '';
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The container's settings as the role would load them, with stand-ins for the Secret's keys. */
function settingsOf(container: any, manifests: readonly Manifest[]): { environment: Record<string, string>; config: Config } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const environment = containerEnvironment(container, manifests, ({ key }) => SECRET_STAND_INS[key]);
  return { environment, config: loadConfig(environment) };
}

function roleOf(workload: Workload): string {
  return workload.pod.spec.containers[0].args[0];
}

function preStopSeconds(container: any): number { // eslint-disable-line @typescript-eslint/no-explicit-any
  const preStop = container.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return Number(preStop.sleep.seconds);
  const command: string[] = preStop.exec?.command ?? [];
  const seconds = command.length === 2 && /(^|\/)sleep$/.test(command[0]!) ? Number(command[1]) : NaN;
  if (Number.isNaN(seconds)) throw new Error(`preStop is neither a sleep action nor ["sleep", N]: ${JSON.stringify(preStop)}`);
  return seconds;
}

describe.skipIf(!kubectl)('when the Kubernetes overlays are rendered', () => {
  const overlays = overlayNames();
  let rendered: Rendered[];
  let surface: ServiceSurface;

  beforeAll(async () => {
    rendered = overlays.map((overlay) => ({ overlay, manifests: render(overlay) }));
    surface = await buildServiceSurface();
  }, 60_000);
  afterAll(() => surface?.close());

  const each = (check: (rendered: Rendered) => void | Promise<void>) => async () => {
    for (const overlay of rendered) {
      try {
        await check(overlay);
      } catch (error) {
        (error as Error).message = `overlay ${overlay.overlay}: ${(error as Error).message}`;
        throw error;
      }
    }
  };

  it('then there are a small and a production overlay, and the request-rate variant renders too', () => {
    expect(overlays).toEqual(expect.arrayContaining(['small', 'production', 'production-request-rate']));
  });

  it(
    'then every object validates against its Kubernetes, KEDA or prometheus-operator schema',
    each(({ manifests }) => {
      expect(manifests.length).toBeGreaterThan(10);
      for (const manifest of manifests) expect(() => validate(manifest), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }),
  );

  it(
    'then every pod runs a real role of the image the overlay names, configured only with real settings that load',
    each(({ manifests }) => {
      for (const workload of workloads(manifests)) {
        const where = `${workload.manifest.kind} ${workload.manifest.metadata.name}`;
        for (const container of workload.pod.spec.containers) {
          expect(Object.keys(ROLES), where).toContain(container.args[0]);
          expect(container.image, where).toMatch(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9/._-]+:[\w.-]+$/);
          const { environment } = settingsOf(container, manifests);
          const unknown = Object.keys(environment).filter((name) => !SETTING_NAMES.includes(name));
          expect(unknown, `${where}: not settings of src/config.ts`).toEqual([]);
          for (const variable of container.env ?? []) {
            const reference = variable.valueFrom?.secretKeyRef;
            if (reference) expect(reference, where).toMatchObject({ name: SECRET_NAME, key: variable.name });
          }
        }
      }
    }),
  );

  it(
    'then every pod has CPU and memory requests and limits, and runs as non-root on a read-only root filesystem with no capabilities',
    each(({ manifests }) => {
      const all = workloads(manifests);
      expect(all.length).toBeGreaterThanOrEqual(7);
      for (const { manifest, pod } of all) {
        const where = `${manifest.kind} ${manifest.metadata.name}`;
        expect(pod.spec.securityContext, where).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.spec.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(pod.spec.automountServiceAccountToken, where).toBe(false);
        for (const container of pod.spec.containers) {
          expect(container.securityContext, where).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
          expect(container.securityContext.capabilities.add ?? [], where).toEqual([]);
          expect(container.securityContext.privileged ?? false, where).toBe(false);
          for (const kind of ['requests', 'limits']) {
            expect(quantity(container.resources?.[kind]?.cpu ?? 'x0'), `${where} ${kind}.cpu`).toBeGreaterThan(0);
            expect(quantity(container.resources?.[kind]?.memory ?? 'x0'), `${where} ${kind}.memory`).toBeGreaterThan(0);
          }
        }
      }
    }),
  );

  it(
    'then every Deployment has a PodDisruptionBudget that selects its pods and leaves one to go',
    each(({ manifests }) => {
      for (const { manifest, pod } of workloads(manifests).filter((workload) => workload.manifest.kind === 'Deployment')) {
        const budgets = manifests.filter((other) => other.kind === 'PodDisruptionBudget' && selects(other.spec.selector, pod.metadata?.labels));
        expect(budgets.map((budget) => budget.metadata.name), `Deployment ${manifest.metadata.name}`).toHaveLength(1);
        expect(budgets[0]!.spec.maxUnavailable ?? budgets[0]!.spec.minAvailable, manifest.metadata.name).toBeDefined();
      }
    }),
  );

  it(
    'then every Deployment listens on 0.0.0.0 at the port it declares, and its startup, liveness and readiness probes ask routes its role answers there',
    each(async ({ manifests }) => {
      for (const workload of workloads(manifests).filter((candidate) => candidate.manifest.kind === 'Deployment')) {
        const role = roleOf(workload) as 'api' | 'relay' | 'indexer';
        for (const container of workload.pod.spec.containers) {
          const where = `Deployment ${workload.manifest.metadata.name}`;
          const { config } = settingsOf(container, manifests);
          expect(['0.0.0.0', '::'], `${where}: HOST`).toContain(config.host);
          const ports: { name?: string; containerPort: number }[] = container.ports ?? [];
          expect(ports.map((port) => port.containerPort), where).toContain(config.port);
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
            const httpGet = container[probe]?.httpGet;
            expect(httpGet, `${where} ${probe}`).toBeDefined();
            const port = ports.find((candidate) => candidate.name === httpGet.port || candidate.containerPort === httpGet.port);
            expect(port?.containerPort, `${where} ${probe} port ${httpGet.port}`).toBe(config.port);
            expect(await surface.status(role, httpGet.path), `${where} ${probe} GET ${httpGet.path} on the ${role}`).not.toBe(404);
          }
          expect(container.readinessProbe.httpGet.path, where).toBe('/health/ready');
          expect(container.livenessProbe.httpGet.path, where).toBe('/health/live');
        }
      }
    }),
  );

  it(
    'then every Deployment shuts down within its grace period: preStop pause + SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + linger',
    each(({ manifests }) => {
      for (const { manifest, pod } of workloads(manifests).filter((workload) => workload.manifest.kind === 'Deployment')) {
        const grace = pod.spec.terminationGracePeriodSeconds;
        expect(grace, manifest.metadata.name).toBeGreaterThan(0);
        for (const container of pod.spec.containers) {
          const { config } = settingsOf(container, manifests);
          const needed = preStopSeconds(container) + (config.shutdown.delayMs + config.shutdown.timeoutMs + LINGER_MS) / 1000;
          expect(needed, `${manifest.metadata.name}: seconds to shut down vs terminationGracePeriodSeconds ${grace}`).toBeLessThanOrEqual(grace);
        }
      }
    }),
  );

  it(
    'then a Deployment behind a Service pauses before SIGTERM and is seen unready before SHUTDOWN_DELAY_MS ends, so a rolling update drops nothing',
    each(({ manifests }) => {
      const services = manifests.filter((manifest) => manifest.kind === 'Service');
      expect(services.length).toBeGreaterThan(0);
      for (const service of services) {
        const behind = workloads(manifests).filter((workload) => workload.manifest.kind === 'Deployment' && selects(service.spec.selector, workload.pod.metadata?.labels));
        expect(behind.map((workload) => workload.manifest.metadata.name), `Service ${service.metadata.name}`).toHaveLength(1);
        const container = behind[0]!.pod.spec.containers[0];
        const { config } = settingsOf(container, manifests);
        expect(preStopSeconds(container), 'preStop pause').toBeGreaterThan(0);
        // Readiness starts failing at SIGTERM, after the pause: the kubelet must see it within the delay.
        const probe = container.readinessProbe;
        expect((probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3), 'readiness period x failureThreshold (s)').toBeLessThan(config.shutdown.delayMs / 1000);
        const targetPort = service.spec.ports[0].targetPort;
        expect(container.ports.some((port: { name: string; containerPort: number }) => port.name === targetPort || port.containerPort === targetPort), 'Service targetPort').toBe(true);
      }
      for (const ingress of manifests.filter((manifest) => manifest.kind === 'Ingress')) {
        for (const rule of ingress.spec.rules) {
          for (const path of rule.http.paths) expect(named(manifests, 'Service', path.backend.service.name), `Ingress ${ingress.metadata.name} backend`).toBeDefined();
        }
      }
    }),
  );

  it(
    "then the api's memory limit holds what its cache bounds allow (docs/memory.md)",
    each(({ manifests }) => {
      const api = named(manifests, 'Deployment', 'catalog-api')!;
      const container = api.spec.template.spec.containers[0];
      const { config } = settingsOf(container, manifests);
      expect(quantity(container.resources.limits.memory)).toBeGreaterThanOrEqual(memoryBudget(config.cache).podLimitBytes);
    }),
  );

  it(
    'then every HorizontalPodAutoscaler and ScaledObject scales an existing Deployment that leaves its replica count to it',
    each(({ manifests }) => {
      const scalers = manifests.filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler' || manifest.kind === 'ScaledObject');
      expect(scalers.length).toBeGreaterThan(0);
      for (const scaler of scalers) {
        const target = scaler.spec.scaleTargetRef;
        const where = `${scaler.kind} ${scaler.metadata.name}`;
        expect(target.kind ?? 'Deployment', where).toBe('Deployment');
        const deployment = named(manifests, 'Deployment', target.name);
        expect(deployment, `${where} targets Deployment ${target.name}`).toBeDefined();
        expect(deployment!.spec.replicas, `${where}: Deployment ${target.name} sets replicas, which every apply would reset`).toBeUndefined();
      }
      const hpa = named(manifests, 'HorizontalPodAutoscaler', 'catalog-api')!;
      expect(hpa.spec.metrics.some((metric: { resource?: { name: string } }) => metric.resource?.name === 'cpu')).toBe(true);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      // The relay stands by rather than sharing work: a fixed pair, never autoscaled.
      const relay = named(manifests, 'Deployment', 'catalog-relay')!;
      expect(relay.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(scalers.some((scaler) => scaler.spec.scaleTargetRef.name === 'catalog-relay')).toBe(false);
    }),
  );

  it(
    'then the indexers never outnumber the partitions the overlay declares, and KEDA watches the group and topic they consume',
    each(({ overlay, manifests }) => {
      const indexer = named(manifests, 'Deployment', 'catalog-indexer')!;
      const partitions = Number(indexer.metadata.annotations?.[PARTITIONS_ANNOTATION]);
      expect(Number.isInteger(partitions) && partitions > 0, `${PARTITIONS_ANNOTATION}`).toBe(true);
      const { config } = settingsOf(indexer.spec.template.spec.containers[0], manifests);
      const kafka = config.changeFeed.kafka!;
      expect(kafka).toBeDefined();
      if (indexer.spec.replicas !== undefined) expect(indexer.spec.replicas).toBeLessThanOrEqual(partitions);
      const scaled = manifests.filter((manifest) => manifest.kind === 'ScaledObject' && manifest.spec.scaleTargetRef.name === 'catalog-indexer');
      if (overlay.startsWith('production')) expect(scaled).toHaveLength(1);
      for (const scaledObject of scaled) {
        expect(scaledObject.spec.maxReplicaCount, 'maxReplicaCount vs partitions').toBeLessThanOrEqual(partitions);
        expect(scaledObject.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
        const trigger = scaledObject.spec.triggers.find((candidate: { type: string }) => candidate.type === 'kafka');
        expect(trigger.metadata).toMatchObject({ bootstrapServers: kafka.brokers.join(','), consumerGroup: kafka.indexerGroup, topic: kafka.changeTopic });
        expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
        expect(trigger.metadata.allowIdleConsumers ?? 'false').toBe('false');
      }
    }),
  );

  it(
    'then migrations run as a Job, reconcile nightly, and reindex and replay-dead-letters wait as suspended CronJobs',
    each(({ manifests }) => {
      const migrate = named(manifests, 'Job', 'catalog-migrate');
      expect(migrate?.spec.template.spec.containers[0].args).toEqual(['migrate']);
      for (const manifest of manifests.filter((candidate) => candidate.kind === 'Deployment')) {
        expect(settingsOf(manifest.spec.template.spec.containers[0], manifests).config.database.migrateOnStart, manifest.metadata.name).toBe(false);
      }
      const cron = (role: string) => named(manifests, 'CronJob', `catalog-${role}`);
      expect(cron('reconcile')?.spec).toMatchObject({ suspend: false, concurrencyPolicy: 'Forbid' });
      expect(cron('reindex')?.spec).toMatchObject({ suspend: true, concurrencyPolicy: 'Forbid' });
      expect(cron('replay-dead-letters')?.spec).toMatchObject({ suspend: true, concurrencyPolicy: 'Forbid' });
    }),
  );

  it(
    'then every alert is on metrics the service exports and has its runbook line in docs/operations.md',
    each(async ({ manifests }) => {
      const rules = manifests.filter((manifest) => manifest.kind === 'PrometheusRule').flatMap((rule) => rule.spec.groups.flatMap((group: { rules: unknown[] }) => group.rules));
      const alerts = rules as { alert: string; expr: string; labels?: { severity?: string } }[];
      const wanted = ['LatencyBudgetBurn', 'ErrorBudgetBurn', 'ConsumerLag', 'Outbox', 'BreakerOpen', 'SearchFallback'];
      for (const word of wanted) expect(alerts.some((alert) => alert.alert.includes(word)), word).toBe(true);
      const runbooks = section(operationsDoc, 'Alerts');
      for (const alert of alerts) {
        const names = metricNamesIn(alert.expr);
        expect(names.length, `${alert.alert}: no metric found in its expression`).toBeGreaterThan(0);
        expect(names.filter((name) => !surface.metricNames.has(name)), `${alert.alert}: metrics the service does not export`).toEqual([]);
        expect(alert.labels?.severity, alert.alert).toBeDefined();
        expect(runbooks, `docs/operations.md "## Alerts" has no line for ${alert.alert}`).toContain(alert.alert);
        // A route renamed in the api would leave a matcher that matches nothing, and an alert that never fires.
        for (const route of routesIn(alert.expr)) expect(await surface.status('api', route), `${alert.alert}: GET ${route} on the api`).not.toBe(404);
      }
    }),
  );

  it(
    'then the Grafana dashboard is labelled for the sidecar, and its every query is on metrics the service exports',
    each(async ({ manifests }) => {
      const dashboards = manifests.filter((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.labels?.grafana_dashboard === '1');
      expect(dashboards).toHaveLength(1);
      const dashboard = JSON.parse(Object.values(dashboards[0]!.data!)[0]!) as { panels: { title: string; targets: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } };
      const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join('\n');
      for (const topic of ['request', 'latency', '5xx', 'hot path', 'cache hit', 'breaker', 'outbox backlog', 'outbox oldest', 'consumer lag', 'change latency', 'search fallback']) {
        expect(titles, `a panel on ${topic}`).toContain(topic);
      }
      const queries = [
        ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: panel.title, expr: target.expr }))),
        ...dashboard.templating.list.flatMap((variable) => {
          const query = (variable.query as { query?: string } | undefined)?.query;
          const inner = query && /label_values\(([^,]+),/.exec(query)?.[1];
          return inner ? [{ where: 'a template variable', expr: inner }] : [];
        }),
      ];
      for (const { where, expr } of queries) {
        const names = metricNamesIn(expr);
        expect(names.length, `${where}: no metric found`).toBeGreaterThan(0);
        expect(names.filter((name) => !surface.metricNames.has(name)), `${where}: metrics the service does not export`).toEqual([]);
        for (const route of routesIn(expr)) expect(await surface.status('api', route), `${where}: GET ${route} on the api`).not.toBe(404);
      }
    }),
  );

  it('then the request-rate variant asks prometheus-adapter for a metric built from one the api exports', () => {
    const rules = parse(readFileSync(new URL('components/api-request-rate-hpa/prometheus-adapter-rules.yaml', K8S_DIR), 'utf8')) as { seriesQuery: string; metricsQuery: string; name: { as: string } }[];
    const hpa = named(rendered.find((candidate) => candidate.overlay === 'production-request-rate')!.manifests, 'HorizontalPodAutoscaler', 'catalog-api')!;
    const custom = hpa.spec.metrics.find((metric: { type: string }) => metric.type === 'Pods').pods.metric.name;
    const rule = rules.find((candidate) => candidate.name.as === custom);
    expect(rule, `an adapter rule serving ${custom}`).toBeDefined();
    for (const name of metricNamesIn(rule!.seriesQuery)) expect(surface.metricNames.has(name), name).toBe(true);
    expect(metricNamesIn(rule!.seriesQuery)).toEqual(['http_request_duration_seconds_count']);
  });

  it("then docs/operations.md's metric catalogue names every catalog_ and http_ metric the service exports", () => {
    const catalogue = section(operationsDoc, 'Metrics');
    const own = [...surface.metricFamilies].filter((name) => /^(catalog|http)_/.test(name));
    expect(own.length).toBeGreaterThan(20);
    expect(own.filter((name) => !catalogue.includes(`\`${name}\``))).toEqual([]);
  });

  it(
    'then docs/operations.md names every Secret key the manifests read',
    each(({ manifests }) => {
      const kubernetesSection = section(operationsDoc, 'Kubernetes');
      const keys = new Set(
        workloads(manifests).flatMap(({ pod }) =>
          pod.spec.containers.flatMap((container: { env?: { valueFrom?: { secretKeyRef?: { key: string } } }[] }) => (container.env ?? []).flatMap((variable) => variable.valueFrom?.secretKeyRef?.key ?? [])),
        ),
      );
      expect(keys.size).toBeGreaterThan(0);
      for (const key of keys) expect(kubernetesSection, `Secret key ${key}`).toContain(`\`${key}\``);
    }),
  );
});

describe('when PromQL is read for metric names', () => {
  it('then functions, label matchers, ranges, grouping labels and numbers are not taken for metrics', () => {
    expect(metricNamesIn('sum by (namespace, le) (rate(http_request_duration_seconds_bucket{le="0.25", route!~"/health/.*"}[5m])) / ignoring(le) 1e3 > (14.4 * 0.05) and on (namespace) up')).toEqual([
      'http_request_duration_seconds_bucket',
      'up',
    ]);
    expect(metricNamesIn('max by (dependency) (catalog_breaker_state{namespace="$namespace"}) == 2')).toEqual(['catalog_breaker_state']);
  });

  it('then the literal paths of route matchers are found, and regular expressions are left alone', () => {
    expect(routesIn('rate(x{route=~"/products/search|/products/suggest", route!~"/health/.*|/metrics"}[5m]) + y{route="/categories"}')).toEqual([
      '/products/search',
      '/products/suggest',
      '/metrics',
      '/categories',
    ]);
  });
});

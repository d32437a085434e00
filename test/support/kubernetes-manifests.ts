// The k8s/ overlays as the cluster would receive them: rendered by `kubectl kustomize`, validated
// against the Kubernetes (and KEDA, prometheus-operator) schemas of kubernetes-models, and read back
// as plain objects with the few lookups the manifest tests need.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as keda from '@kubernetes-models/keda';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as kubernetes from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';

export const K8S_DIR = new URL('../../k8s/', import.meta.url);

/** Every directory under k8s/overlays: each is an install someone may apply. */
export function overlayNames(): string[] {
  return readdirSync(new URL('overlays/', K8S_DIR), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** kubectl's client version line, or undefined when kubectl cannot be run. */
export function kubectlVersion(): string | undefined {
  const result = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** A rendered object; only the fields the tests read are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- a different shape per kind, read field by field
  data?: Record<string, string>;
}

export function render(overlay: string): Manifest[] {
  const yaml = execFileSync('kubectl', ['kustomize', new URL(`overlays/${overlay}`, K8S_DIR).pathname], { encoding: 'utf8' });
  return parseAllDocuments(yaml).map((document) => {
    if (document.errors.length > 0) throw new Error(`${overlay}: ${document.errors[0]!.message}`);
    return document.toJSON() as Manifest;
  });
}

type ModelClass = new (data: unknown) => { validate(): void };

/**
 * The model class of an apiVersion and kind: kubernetes-models names a group's module after the
 * group in camel case (networking.k8s.io -> networkingK8sIo); the core group is `v1`.
 */
export function modelOf(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  const modules: Record<string, unknown> = group === 'keda.sh' ? keda : group === 'monitoring.coreos.com' ? prometheusOperator : kubernetes;
  const camel = group
    .split('.')
    .map((part, index) => (index === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
  const versions = (group === '' ? { [version]: modules.v1 } : modules[camel]) as Record<string, Record<string, ModelClass>> | undefined;
  return versions?.[version]?.[kind];
}

/** Throws with the schema's complaint when the object does not validate. */
export function validate(manifest: Manifest): void {
  const Model = modelOf(manifest.apiVersion, manifest.kind);
  if (!Model) throw new Error(`${manifest.kind} ${manifest.metadata.name}: no schema for ${manifest.apiVersion}`);
  new Model(manifest).validate();
}

export interface Workload {
  manifest: Manifest;
  /** The pod template's metadata and spec, whichever kind holds it. */
  pod: { metadata?: { labels?: Record<string, string> }; spec: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- PodSpec, read field by field
}

/** Deployments, Jobs and CronJobs with their pod templates. */
export function workloads(manifests: readonly Manifest[]): Workload[] {
  return manifests.flatMap((manifest) => {
    if (manifest.kind === 'Deployment' || manifest.kind === 'Job') return [{ manifest, pod: manifest.spec.template }];
    if (manifest.kind === 'CronJob') return [{ manifest, pod: manifest.spec.jobTemplate.spec.template }];
    return [];
  });
}

export function named(manifests: readonly Manifest[], kind: string, name: string): Manifest | undefined {
  return manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
}

export function selects(selector: { matchLabels?: Record<string, string> } | Record<string, string> | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const wanted = ('matchLabels' in selector ? selector.matchLabels : selector) as Record<string, string> | undefined;
  const entries = Object.entries(wanted ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** A container's environment as the kubelet gives it: envFrom's ConfigMaps first, then env (which wins). */
export function containerEnvironment(
  container: { envFrom?: { configMapRef?: { name: string } }[]; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] },
  manifests: readonly Manifest[],
  secretValue: (reference: { name: string; key: string }) => string | undefined,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const configMap = source.configMapRef && named(manifests, 'ConfigMap', source.configMapRef.name);
    if (!configMap) throw new Error(`envFrom names ConfigMap ${source.configMapRef?.name}, which is not rendered`);
    Object.assign(environment, configMap.data);
  }
  for (const variable of container.env ?? []) {
    const value = variable.valueFrom?.secretKeyRef ? secretValue(variable.valueFrom.secretKeyRef) : variable.value;
    if (value === undefined) delete environment[variable.name];
    else environment[variable.name] = value;
  }
  return environment;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: what remains once strings, label matchers, ranges,
 * grouping clauses, function calls and keywords are taken out.
 */
export function metricNamesIn(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)].map((match) => match[1]!);
  return [...new Set(names.filter((name) => !PROMQL_WORDS.has(name.toLowerCase())))];
}

/** The literal paths a PromQL expression's `route` matchers name (regex alternatives with metacharacters left out). */
export function routesIn(expression: string): string[] {
  const values = [...expression.matchAll(/\broute\s*(?:=|!=|=~|!~)\s*"([^"]*)"/g)].map((match) => match[1]!);
  return [...new Set(values.flatMap((value) => value.split('|')).filter((path) => path.startsWith('/') && !/[.*+?()[\]{}^$\\]/.test(path)))];
}

/** Kubernetes quantities in bytes (memory) or cores (cpu). */
export function quantity(value: string | number): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const unit = units[match[2]!];
  if (unit === undefined) throw new Error(`unknown unit in ${value}`);
  return Number(match[1]) * unit;
}

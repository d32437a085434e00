/**
 * The APIs this broker implements, each at the single version kafkajs 2.2.x picks when a
 * broker offers it (kafkajs takes min(its newest, broker's newest)). Advertising exactly
 * these in ApiVersions keeps kafkajs from sending anything we would have to guess at.
 * None of them is a "flexible" (tagged-field) version, so headers are v1 requests / v0 responses.
 */
export const ApiKey = {
  produce: 0,
  fetch: 1,
  listOffsets: 2,
  metadata: 3,
  offsetCommit: 8,
  offsetFetch: 9,
  findCoordinator: 10,
  joinGroup: 11,
  heartbeat: 12,
  leaveGroup: 13,
  syncGroup: 14,
  apiVersions: 18,
  createTopics: 19,
} as const;

export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];

export interface SupportedApi {
  apiKey: ApiKeyValue;
  name: string;
  minVersion: number;
  maxVersion: number;
}

export const SUPPORTED_APIS: readonly SupportedApi[] = [
  { apiKey: ApiKey.produce, name: 'Produce', minVersion: 7, maxVersion: 7 },
  { apiKey: ApiKey.fetch, name: 'Fetch', minVersion: 11, maxVersion: 11 },
  { apiKey: ApiKey.listOffsets, name: 'ListOffsets', minVersion: 3, maxVersion: 3 },
  { apiKey: ApiKey.metadata, name: 'Metadata', minVersion: 6, maxVersion: 6 },
  { apiKey: ApiKey.offsetCommit, name: 'OffsetCommit', minVersion: 5, maxVersion: 5 },
  { apiKey: ApiKey.offsetFetch, name: 'OffsetFetch', minVersion: 4, maxVersion: 4 },
  { apiKey: ApiKey.findCoordinator, name: 'FindCoordinator', minVersion: 2, maxVersion: 2 },
  { apiKey: ApiKey.joinGroup, name: 'JoinGroup', minVersion: 5, maxVersion: 5 },
  { apiKey: ApiKey.heartbeat, name: 'Heartbeat', minVersion: 3, maxVersion: 3 },
  { apiKey: ApiKey.leaveGroup, name: 'LeaveGroup', minVersion: 3, maxVersion: 3 },
  { apiKey: ApiKey.syncGroup, name: 'SyncGroup', minVersion: 3, maxVersion: 3 },
  { apiKey: ApiKey.apiVersions, name: 'ApiVersions', minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.createTopics, name: 'CreateTopics', minVersion: 3, maxVersion: 3 },
];

export function findSupportedApi(apiKey: number): SupportedApi | undefined {
  return SUPPORTED_APIS.find((api) => api.apiKey === apiKey);
}

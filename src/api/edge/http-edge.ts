// The api's HTTP edge: what every answer carries or passes before a route sees the request, for
// Fastify's answers and the hot path's alike (hot-path-contract.ts). In the order the hooks run:
// security headers and CORS first (so a 503 or 429 carries them too), then load shedding (cheapest
// refusal first), then the rate limits (a count, maybe a Redis round trip). The URL-length bound
// sits in the server factory, before both (url-length.ts). docs/operations.md: Load shedding and
// rate limits.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { AdminToken } from '../../config.ts';
import type { HttpEdgeConfig, PressureConfig, RateLimitConfig } from './edge-settings.ts';
import type { HotPathContract } from '../hot-path-contract.ts';
import { registerCrossOrigin } from './cross-origin.ts';
import { registerLoadShedding } from './load-shedding.ts';
import { registerRateLimits } from './rate-limits.ts';
import { registerSecurityHeaders } from './security-headers.ts';

/** The edge's settings, from config.ts. */
export interface EdgeSettings {
  http: HttpEdgeConfig;
  pressure: PressureConfig;
  rateLimit: RateLimitConfig;
  /** REDIS_KEY_PREFIX: rate-limit counts are kept under it. */
  keyPrefix: string;
}

export async function registerHttpEdge(
  app: FastifyInstance,
  hotPath: HotPathContract,
  deps: { settings: EdgeSettings; redis: Redis | undefined; adminTokens: readonly AdminToken[] | undefined; metrics: Registry },
): Promise<void> {
  const { settings } = deps;
  await registerSecurityHeaders(hotPath);
  await registerCrossOrigin(app, hotPath, settings.http);
  await registerLoadShedding(app, hotPath, settings.pressure, deps.metrics);
  await registerRateLimits(app, hotPath, {
    settings: settings.rateLimit,
    trustProxyHops: settings.http.trustProxyHops,
    redis: deps.redis,
    keyPrefix: settings.keyPrefix,
    adminTokens: deps.adminTokens,
    metrics: deps.metrics,
  });
}

// Turns a cache read into an HTTP response: ready-made bytes with a strong ETag, 304 on a matching
// If-None-Match, Cache-Control derived from the entry's age, and a Surrogate-Key header so a CDN can
// purge by product, category, brand or listing. cachedAnswer() is the one writer of that answer,
// used by the routes and by the hot path (hot-path.ts), so the two cannot drift apart.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CacheRead, CatalogCache, OriginResponse } from '../cache/catalog-cache.ts';
import type { FreshnessPolicy } from '../cache/freshness.ts';
import { CatalogError, type ProblemCode } from '../catalog/catalog-error.ts';
import type { HotPathContract } from './hot-path-contract.ts';
import type { HotUrls } from './hot-urls.ts';

/** The cache's own freshness policy (CatalogCache.freshness): one rule for the cache and for Cache-Control. */
export type HttpCachePolicy = Pick<FreshnessPolicy, 'maxAgeSeconds' | 'staleWhileRevalidateSeconds' | 'staleIfErrorSeconds'>;

/**
 * A loader for the cache: runs `produce`, serializes its result with the route's response schema,
 * and turns a not-found into a cacheable 404 (so unknown ids stop reaching PostgreSQL). It keeps the
 * route's serializer, not the reply, so the hot path can run it for later requests of the same URL.
 * `keep`, when given, decides whether the result may be cached (OriginResponse.keep).
 */
export function originOf<T extends Record<string, unknown>>(
  reply: FastifyReply,
  produce: () => Promise<T>,
  surrogateKeys: (value: T) => string[],
  keep?: (value: T) => boolean,
): () => Promise<OriginResponse> {
  const serialize = reply.getSerializationFunction('200');
  if (!serialize) throw new Error(`route ${reply.request.routeOptions.url ?? ''} has no 200 response schema`);
  return async () => {
    try {
      const value = await produce();
      const response: OriginResponse = { status: 200, body: Buffer.from(serialize(value)), surrogateKeys: surrogateKeys(value) };
      if (keep && !keep(value)) response.keep = false;
      return response;
    } catch (error) {
      if (error instanceof CatalogError && error.status === 404) {
        return { status: 404, body: Buffer.from(JSON.stringify({ code: error.code, detail: error.message })) };
      }
      throw error;
    }
  };
}

export interface CachedReads {
  cache: CatalogCache;
  httpCache: HttpCachePolicy;
  hotUrls: HotUrls;
  /** Which routes the hot path may answer; a URL of any other route is not remembered. */
  hotPath: Pick<HotPathContract, 'route'>;
}

/** Answers from the cache (loading on a miss) and remembers the URL for the hot path, if it answers the route. */
export async function replyFromCache(
  request: FastifyRequest,
  reply: FastifyReply,
  reads: CachedReads,
  entry: { key: string; tags: readonly string[]; load: () => Promise<OriginResponse> },
): Promise<FastifyReply> {
  const read = await reads.cache.read(entry.key, entry.tags, entry.load);
  const route = request.routeOptions.url ?? request.url;
  if (read.response.status === 200 && reads.hotPath.route(route)) reads.hotUrls.remember(request.url, { ...entry, route });
  return sendCachedRead(request, reply, read, reads.httpCache);
}

function sendCachedRead(request: FastifyRequest, reply: FastifyReply, read: CacheRead, policy: HttpCachePolicy): FastifyReply {
  const { response } = read;
  if (response.status === 404) {
    // Rebuilt per request: a problem names this request's id and path.
    const { code, detail } = JSON.parse(response.body.toString()) as { code: ProblemCode; detail: string };
    throw new CatalogError(code, detail);
  }
  const status = cachedAnswerStatus(read, request.headers['if-none-match']);
  const headers = cachedAnswerHeaders(read, policy, request.id, status);
  for (let i = 0; i < headers.length; i += 2) reply.header(headers[i] as string, headers[i + 1]);
  // For HEAD, Fastify's HEAD route drops the body and keeps its length.
  return status === 304 ? reply.code(304).send() : reply.send(response.body);
}

// The answer to a cached 200, written the same way by the routes and by the hot path.

/** 304 when If-None-Match names the entry's ETag (the client's copy is current), else 200. */
export function cachedAnswerStatus(read: CacheRead, ifNoneMatch: string | undefined): 200 | 304 {
  return matchesIfNoneMatch(ifNoneMatch, read.response.etag) ? 304 : 200;
}

/**
 * The headers of that answer as a flat [name, value, ...] list (writeHead takes it without walking an
 * object's keys): the request id and the cache headers, and for a 200 (GET or HEAD) the content type
 * and length.
 */
export function cachedAnswerHeaders(read: CacheRead, policy: HttpCachePolicy, requestId: string, status: 200 | 304): string[] {
  const cached = cacheHeaders(read, policy);
  const headers = ['x-request-id', requestId, 'etag', cached.etag, 'cache-control', cached['cache-control'], 'surrogate-key', cached['surrogate-key'], 'x-cache', cached['x-cache']];
  if (status === 200) headers.push('content-type', 'application/json; charset=utf-8', 'content-length', String(read.response.body.length));
  return headers;
}

type CacheHeaders = Readonly<Record<'etag' | 'cache-control' | 'surrogate-key' | 'x-cache', string>>;

interface BuiltHeaders {
  maxAge: number;
  revalidateWindow: number;
  errorWindow: number;
  xCache: string;
  headers: CacheHeaders;
}

// The headers last built for each cached response. They change only when a lifetime crosses a
// second, so a page hit thousands of times a second builds its Cache-Control about once a second
// (profiled at about 1 us of a 33 us hot-listing request when built every time).
const lastBuilt = new WeakMap<CacheRead['response'], BuiltHeaders>();

/**
 * ETag, Cache-Control, Surrogate-Key and X-Cache for a cached 200 or 304. Every lifetime is what is
 * left of the cache's own for this entry at its age (its spread fresh span included), so a CDN
 * never keeps a page fresh or stale longer than this service would.
 */
export function cacheHeaders(read: CacheRead, policy: HttpCachePolicy): CacheHeaders {
  const { response } = read;
  const ageMs = Date.now() - response.storedAt;
  const maxAge = read.stale ? 0 : policy.maxAgeSeconds(response.storedAt, ageMs);
  const revalidateWindow = policy.staleWhileRevalidateSeconds(ageMs, maxAge);
  const errorWindow = policy.staleIfErrorSeconds(ageMs, maxAge);
  const xCache = read.stale ? 'STALE' : read.tier === 'origin' ? 'MISS' : read.tier === 'near' ? 'HIT-NEAR' : 'HIT-REDIS';
  const last = lastBuilt.get(response);
  if (last && last.maxAge === maxAge && last.revalidateWindow === revalidateWindow && last.errorWindow === errorWindow && last.xCache === xCache) {
    return last.headers;
  }
  const headers: CacheHeaders = {
    etag: response.etag,
    'cache-control': `public, max-age=${maxAge}, stale-while-revalidate=${revalidateWindow}, stale-if-error=${errorWindow}`,
    'surrogate-key': response.surrogateKey,
    'x-cache': xCache,
  };
  lastBuilt.set(response, { maxAge, revalidateWindow, errorWindow, xCache, headers });
  return headers;
}

/** RFC 9110 If-None-Match: a list of entity tags or `*`, compared weakly. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === opaque;
  });
}

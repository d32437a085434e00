// Turns a cache read into an HTTP response: ready-made bytes with a strong ETag, 304 on a matching
// If-None-Match, Cache-Control derived from the entry's age, and a Surrogate-Key header so a CDN can
// purge by product, category, brand or listing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CacheRead, OriginResponse } from '../cache/catalog-cache.ts';
import { CatalogError, type ProblemCode } from '../catalog/catalog-error.ts';

export interface HttpCachePolicy {
  freshTtlMs: number;
  maxStaleMs: number;
  staleIfErrorMs: number;
}

/**
 * A loader for the cache: runs `produce`, serializes its result with the route's response schema,
 * and turns a not-found into a cacheable 404 (so unknown ids stop reaching PostgreSQL).
 */
export function originOf<T extends object>(reply: FastifyReply, produce: () => Promise<T>, surrogateKeys: (value: T) => string[]): () => Promise<OriginResponse> {
  return async () => {
    try {
      const value = await produce();
      return { status: 200, body: Buffer.from(reply.serializeInput(value as Record<string, unknown>, '200') as string), surrogateKeys: surrogateKeys(value) };
    } catch (error) {
      if (error instanceof CatalogError && error.status === 404) {
        return { status: 404, body: Buffer.from(JSON.stringify({ code: error.code, detail: error.message })) };
      }
      throw error;
    }
  };
}

export function sendCachedRead(request: FastifyRequest, reply: FastifyReply, read: CacheRead, policy: HttpCachePolicy): FastifyReply {
  const { response } = read;
  if (response.status === 404) {
    // Rebuilt per request: a problem names this request's id and path.
    const { code, detail } = JSON.parse(response.body.toString()) as { code: ProblemCode; detail: string };
    throw new CatalogError(code, detail);
  }
  const ageMs = Date.now() - response.storedAt;
  const maxAge = read.stale ? 0 : Math.max(0, Math.floor((policy.freshTtlMs - ageMs) / 1000));
  reply.headers({
    etag: response.etag,
    'cache-control': `public, max-age=${maxAge}, stale-while-revalidate=${Math.floor((policy.maxStaleMs - policy.freshTtlMs) / 1000)}, stale-if-error=${Math.floor(policy.staleIfErrorMs / 1000)}`,
    'surrogate-key': response.surrogateKey,
    'x-cache': read.stale ? 'STALE' : read.tier === 'origin' ? 'MISS' : `HIT-${read.tier.toUpperCase()}`,
  });
  if (matchesIfNoneMatch(request.headers['if-none-match'], response.etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(response.body);
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

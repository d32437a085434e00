import { createHash } from 'node:crypto';

/** What a loader returns: JSON bytes ready to send. */
export interface OriginResponse {
  status: 200 | 404;
  body: Buffer;
}

export interface CachedResponse extends OriginResponse {
  /** Strong ETag from a content hash: the same bytes give the same ETag on every pod. */
  etag: string;
  /** Surrogate keys, e.g. ['product:42'] or ['listings', 'category:7', 'brand:3']. */
  tags: string[];
  /** Epoch ms at which the origin load that produced these bytes started. */
  storedAt: number;
}

export interface CacheRead {
  response: CachedResponse;
  tier: 'near' | 'redis' | 'origin';
  stale: boolean;
}

export function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

export function toCachedResponse(origin: OriginResponse, tags: readonly string[], storedAt: number): CachedResponse {
  return { status: origin.status, body: origin.body, etag: strongEtag(origin.body), tags: [...tags], storedAt };
}

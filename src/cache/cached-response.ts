import { createHash } from 'node:crypto';

/** What a loader returns: JSON bytes ready to send. */
export interface OriginResponse {
  status: 200 | 404;
  body: Buffer;
  /** Keys a CDN may purge this response by, known only once it is loaded (e.g. the products a listing shows). */
  surrogateKeys?: readonly string[];
  /**
   * False: answer the caller, but keep the response in no tier. For a load that found it was built
   * on something other than what its tags say (a related list whose product moved meanwhile): kept,
   * it would not be invalidated by the changes that alter it.
   */
  keep?: boolean;
}

export interface CachedResponse extends OriginResponse {
  /** Strong ETag from a content hash: the same bytes give the same ETag on every pod. */
  etag: string;
  /** Invalidation tags, e.g. ['product:42'] or ['listings', 'category:7', 'brand:3']. */
  tags: string[];
  /** The Surrogate-Key header value: the tags and the loader's surrogate keys, space-separated. */
  surrogateKey: string;
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

/**
 * The bytes in a buffer of their own. A Buffer read from a socket is a view into the read's chunk (up
 * to 64 KiB), and a small one made from a string a view into Node's shared 8 KiB pool: kept as it
 * is, one cached page keeps the whole chunk alive, and nothing counts it. Returns `bytes` itself
 * when it already owns its memory.
 */
export function ownedBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(own);
  return own;
}

/** The response itself when its body owns its bytes, else the same response with its body copied: for whatever keeps it. */
export function ownedResponse(response: CachedResponse): CachedResponse {
  const body = ownedBytes(response.body);
  return body === response.body ? response : { ...response, body };
}

export function toCachedResponse(origin: OriginResponse, tags: readonly string[], storedAt: number): CachedResponse {
  const surrogateKey = [...new Set([...tags, ...(origin.surrogateKeys ?? [])])].join(' ');
  const body = ownedBytes(origin.body);
  return { status: origin.status, body, etag: strongEtag(body), tags: [...tags], surrogateKey, storedAt };
}

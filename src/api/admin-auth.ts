// Who may use the admin API: `Authorization: Bearer <token>`, checked against ADMIN_TOKENS, which
// holds only SHA-256 hashes (config.ts). A token is hashed and compared with every configured hash in
// constant time, so neither the answer's timing nor its content tells how close a guess came or which
// token it was near. A GET needs the `read` scope, any other method `write`. The token's name (never
// the token) is bound to the request's log lines.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { CatalogError } from '../catalog/catalog-error.ts';
import type { AdminScope, AdminToken } from '../config.ts';
import { annotateCompletion } from './request-completion.ts';

export const ADMIN_REALM = 'catalog-admin';

// RFC 6750 b64token: what a bearer token may be made of.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of an Authorization header: undefined when there is none, null when it is not a bearer token. */
export function bearerToken(authorization: string | undefined): string | null | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  return BEARER.exec(authorization)?.[1] ?? null;
}

/** The configured token whose hash is the presented token's, comparing against every one without an early exit. */
export function findAdminToken(tokens: readonly AdminToken[], presented: string): AdminToken | undefined {
  const hash = createHash('sha256').update(presented, 'utf8').digest();
  let found: AdminToken | undefined;
  for (const token of tokens) {
    const same = token.sha256.length === hash.length && timingSafeEqual(hash, token.sha256);
    if (same && found === undefined) found = token;
  }
  return found;
}

/** What a request must hold: reading needs `read`; writing, `write`. */
export function requiredScope(method: string): AdminScope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The token that authenticated an admin request, for its handler (the change events' actor). */
const authenticated = new WeakMap<object, AdminToken>();

export function adminTokenOf(request: object): AdminToken {
  const token = authenticated.get(request);
  if (!token) throw new Error('an admin route ran without authentication');
  return token;
}

/**
 * The onRequest hook of every admin route: 401 with a Bearer challenge without a known token, 403
 * when the token lacks the scope. With no tokens configured every request is a 401.
 */
export function adminAuthentication(tokens: readonly AdminToken[]): onRequestHookHandler {
  return function authenticateAdmin(request, reply, done) {
    const presented = bearerToken(request.headers.authorization);
    const token = presented ? findAdminToken(tokens, presented) : undefined;
    if (!token) {
      // RFC 6750 §3: a request without credentials gets the bare challenge, a bad one error="invalid_token".
      const challenge = presented === undefined ? `Bearer realm="${ADMIN_REALM}"` : `Bearer realm="${ADMIN_REALM}", error="invalid_token"`;
      const message = presented === undefined ? 'an admin token is required: Authorization: Bearer <token>' : 'the admin token is not valid';
      return done(new CatalogError('unauthorized', message, { headers: { 'www-authenticate': challenge } }));
    }
    const actor = `admin:${token.name}`;
    request.log = request.log.child({ actor });
    reply.log = request.log;
    annotateCompletion(request, { actor });
    const scope = requiredScope(request.method);
    if (!token.scopes.has(scope)) {
      const challenge = `Bearer realm="${ADMIN_REALM}", error="insufficient_scope", scope="${scope}"`;
      return done(new CatalogError('forbidden', `the token ${token.name} lacks the ${scope} scope`, { headers: { 'www-authenticate': challenge } }));
    }
    authenticated.set(request, token);
    done();
  };
}

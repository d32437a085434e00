// The one place errors become responses: application/problem+json (RFC 9457) with a stable `type`.
// 5xx details stay in the log (with the request id); the client gets no stack trace and no internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CatalogError, type FieldProblem, type ProblemCode } from '../catalog/catalog-error.ts';

const TITLES: Record<ProblemCode, string> = {
  'invalid-parameter': 'Invalid parameter',
  'invalid-cursor': 'Invalid cursor',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'product-not-found': 'Product not found',
  'category-not-found': 'Category not found',
  'brand-not-found': 'Brand not found',
  'variant-not-found': 'Variant not found',
  'route-not-found': 'Route not found',
  'slug-taken': 'Slug taken',
  'sku-taken': 'SKU taken',
  'external-id-taken': 'External id taken',
  'version-mismatch': 'Version mismatch',
  'invalid-write': 'Invalid write',
  'idempotency-key-reused': 'Idempotency key reused',
  'too-many-requests': 'Too many requests',
  'service-unavailable': 'Service unavailable',
  overloaded: 'Overloaded',
  'internal-error': 'Internal error',
};

// Fastify's own 4xx errors (bad JSON, unsupported media type, ...) keep their status and get a type of their own.
const FRAMEWORK_TYPES: Record<number, string> = {
  400: 'bad-request',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  429: 'too-many-requests',
  431: 'headers-too-large',
};

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance: string;
  requestId: string;
  errors?: FieldProblem[];
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | CatalogError, request, reply) => {
    if (error instanceof CatalogError) {
      if (error.status >= 500 && error.code !== 'overloaded') request.log[error.status === 503 ? 'warn' : 'error']({ err: error.cause ?? error }, error.message);
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.headers) reply.headers(error.headers);
      return sendProblem(request, reply, error.code, error.status, error.message, error.errors ? [...error.errors] : undefined);
    }
    if (error.validation) {
      const where = error.validationContext ?? 'request';
      const errors = error.validation.map((issue) => ({ in: where, name: fieldName(issue, where), reason: issue.message ?? 'is invalid' }));
      const detail = errors.map((issue) => `${issue.name} ${issue.reason}`).join('; ');
      return sendProblem(request, reply, 'invalid-parameter', 400, detail, errors);
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, FRAMEWORK_TYPES[status] ?? 'bad-request', status, error.message, undefined, 'Bad request');
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, 'internal-error', 500, 'The request could not be completed; it has been logged.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, 'route-not-found', 404, `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

/** The field a validation issue names, dotted; a missing property is named itself, not its parent. */
function fieldName(issue: { instancePath: string; params: unknown }, where: string): string {
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = (issue.params as { missingProperty?: unknown } | undefined)?.missingProperty;
  if (typeof missing !== 'string') return path || where;
  return path ? `${path}.${missing}` : missing;
}

/** For errors Fastify raises before routing (a malformed URL, an over-long path parameter). */
export function sendFrameworkProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return sendProblem(request, reply, FRAMEWORK_TYPES[status] ?? 'bad-request', status, error.message.slice(0, 200), undefined, 'Bad request');
}

function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: string,
  status: number,
  detail: string,
  errors?: ProblemBody['errors'],
  fallbackTitle?: string,
): FastifyReply {
  const body = problemDocument({ code, status, detail, instance: request.url.split('?')[0] ?? request.url, requestId: request.id, errors, fallbackTitle });
  return reply.code(status).header('cache-control', 'no-store').type('application/problem+json').send(body);
}

/**
 * The problem document as sent. Also written before Fastify sees a request, by the server factory
 * for an over-long URL (edge/url-length.ts), so both answers share one shape.
 */
export function problemDocument(problem: {
  code: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: ProblemBody['errors'] | undefined;
  fallbackTitle?: string | undefined;
}): string {
  const body: ProblemBody = {
    type: `/problems/${problem.code}`,
    title: TITLES[problem.code as ProblemCode] ?? problem.fallbackTitle ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    instance: problem.instance,
    requestId: problem.requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
  return JSON.stringify(body);
}

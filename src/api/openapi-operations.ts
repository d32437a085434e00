// How a route's schema is documented in openapi.yaml, where the document must say more (or less)
// than the schema that validates requests: a query parameter with a default is optional for the
// client, though the handler always receives it; a response without a schema (a 304) has no body;
// a HEAD operation has the GET's statuses and headers and no body.
import type { SwaggerTransform } from '@fastify/swagger';
import { NEVER_SHED } from './edge/load-shedding.ts';
import { problemResponse } from './schemas/problem.ts';

interface ObjectSchema {
  properties?: Record<string, { default?: unknown }>;
  required?: string[];
}

type Response = { description?: string; headers?: Record<string, unknown>; content?: unknown };
type Operation = { summary?: string; tags?: string[]; response?: Record<string, Response> };

export const documentOperation: SwaggerTransform = ({ schema, url, route }) => {
  const operation = schema as Operation;
  const documented: Record<string, unknown> = { ...schema };
  if (schema.querystring) documented.querystring = defaultsOptional(schema.querystring as ObjectSchema);
  const responses = operation.response ? withEdgeAnswers(url, operation.response) : undefined;
  if (responses) documented.response = mapResponses(responses, (response) => (isBodyless(response) ? noBody(response.description) : response));
  if (route.method === 'HEAD') {
    documented.summary = `${operation.summary ?? url}: headers only`;
    documented.description = 'The status and headers GET answers with (ETag, Cache-Control, Surrogate-Key, Content-Type, Content-Length), without the body.';
    // Copies, or the YAML would alias the GET's.
    if (operation.tags) documented.tags = [...operation.tags];
    documented.response = mapResponses(responses ?? {}, (response) => noBody(response.description));
  }
  return { schema: documented, url };
};

// What the HTTP edge (api/edge/) may answer any route, and the headers of a counted answer. Fresh
// objects each time, or the YAML would alias them.
const retryAfter = () => ({ type: 'integer', description: 'Seconds to wait before retrying' });
const rateLimitHeaders = () => ({
  'ratelimit-limit': { type: 'integer', description: 'Requests allowed per window, when a rate limit applies (RATE_LIMIT_MAX per client, RATE_LIMIT_ADMIN_MAX per admin token)' },
  'ratelimit-remaining': { type: 'integer', description: 'Requests left in the current window' },
  'ratelimit-reset': { type: 'integer', description: 'Seconds until the window ends' },
});

function withEdgeAnswers(url: string, responses: Record<string, Response>): Record<string, Response> {
  const tooLong = { 414: problemResponse('The URL is longer than HTTP_MAX_URL_LENGTH') };
  if (NEVER_SHED.has(url)) return { ...responses, ...tooLong };
  const counted = mapResponses(responses, (response) => response);
  for (const [status, response] of Object.entries(counted)) {
    if (status.startsWith('2')) counted[status] = { ...response, headers: { ...response.headers, ...rateLimitHeaders() } };
  }
  const unavailable = responses['503'];
  return {
    ...counted,
    ...tooLong,
    429: { ...problemResponse('Over the rate limit; retry after Retry-After'), headers: { 'retry-after': retryAfter(), ...rateLimitHeaders() } },
    503: {
      ...problemResponse(unavailable?.description ? `${unavailable.description}; or the pod is overloaded (load shedding)` : 'The pod is overloaded (load shedding); retry after Retry-After'),
      headers: { 'retry-after': retryAfter() },
    },
  };
}

function mapResponses(responses: Record<string, Response>, map: (response: Response) => Response): Record<string, Response> {
  return Object.fromEntries(Object.entries(responses).map(([status, response]) => [status, map(response)]));
}

/** @fastify/swagger documents a response without content only when its schema's type is null. */
const noBody = (description = 'Success') => ({ type: 'null', description });

const isBodyless = (response: Response) => Object.keys(response).every((key) => key === 'description');

/** The schema with every defaulted property left out of `required`. */
function defaultsOptional(querystring: ObjectSchema): ObjectSchema {
  const required = (querystring.required ?? []).filter((name) => querystring.properties?.[name]?.default === undefined);
  const { required: _all, ...rest } = querystring;
  return required.length > 0 ? { ...rest, required } : rest;
}

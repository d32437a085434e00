// How a route's schema is documented in openapi.yaml, where the document must say more (or less)
// than the schema that validates requests: a query parameter with a default is optional for the
// client, though the handler always receives it; a response without a schema (a 304) has no body;
// a HEAD operation has the GET's statuses and headers and no body.
import type { SwaggerTransform } from '@fastify/swagger';

interface ObjectSchema {
  properties?: Record<string, { default?: unknown }>;
  required?: string[];
}

type Response = { description?: string };
type Operation = { summary?: string; tags?: string[]; response?: Record<string, Response> };

export const documentOperation: SwaggerTransform = ({ schema, url, route }) => {
  const operation = schema as Operation;
  const documented: Record<string, unknown> = { ...schema };
  if (schema.querystring) documented.querystring = defaultsOptional(schema.querystring as ObjectSchema);
  if (operation.response) documented.response = mapResponses(operation.response, (response) => (isBodyless(response) ? noBody(response.description) : response));
  if (route.method === 'HEAD') {
    documented.summary = `${operation.summary ?? url}: headers only`;
    documented.description = 'The status and headers GET answers with (ETag, Cache-Control, Surrogate-Key, Content-Type, Content-Length), without the body.';
    // Copies, or the YAML would alias the GET's.
    if (operation.tags) documented.tags = [...operation.tags];
    documented.response = mapResponses(operation.response ?? {}, (response) => noBody(response.description));
  }
  return { schema: documented, url };
};

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

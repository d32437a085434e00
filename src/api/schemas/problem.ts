import Type from 'typebox';

/** RFC 9457 problem details: every 4xx and 5xx this service sends has this shape. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'Stable identifier of the kind of problem, e.g. /problems/product-not-found' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String({ description: 'The request path' })),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          in: Type.String({ description: 'querystring, params, headers or body' }),
          name: Type.String({ description: 'The field, dotted: variants.2.price' }),
          reason: Type.String(),
          index: Type.Optional(Type.Integer({ minimum: 0, description: "In a bulk request: the item's position in `items`" })),
          sku: Type.Optional(Type.String({ description: "In a bulk request: the item's SKU" })),
        }),
      ),
    ),
  },
  // One component in openapi.yaml, referred to by every route's problems (buildApp adds it).
  { $id: 'Problem', description: 'application/problem+json (RFC 9457)' },
);

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
});

/** Every route can fail on the server side; both answers are problems. */
export const serverProblems = {
  500: problemResponse('Unexpected failure; logged with the request id'),
  503: problemResponse('A dependency is down and nothing cached can answer; retry after Retry-After'),
};

/** The client's copy (If-None-Match) is current: no body. */
export const notModified = { description: 'Not modified: the ETag in If-None-Match is current' } as const;

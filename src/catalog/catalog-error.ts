// One error type for everything the catalog refuses or cannot do. The code is stable (clients and
// the problem+json `type` use it); the message is for people.
export const problemStatus = {
  'invalid-parameter': 400,
  'invalid-cursor': 400,
  unauthorized: 401,
  forbidden: 403,
  'product-not-found': 404,
  'category-not-found': 404,
  'brand-not-found': 404,
  'variant-not-found': 404,
  'route-not-found': 404,
  'slug-taken': 409,
  'sku-taken': 409,
  'external-id-taken': 409,
  'version-mismatch': 412,
  'invalid-write': 422,
  'idempotency-key-reused': 422,
  'too-many-requests': 429,
  'service-unavailable': 503,
  // Shed under load (api/edge/load-shedding.ts): counted, not logged, since logging adds to the load.
  overloaded: 503,
  'internal-error': 500,
} as const;

export type ProblemCode = keyof typeof problemStatus;

/** One thing wrong with a request, where it is: what a problem's `errors` list carries. */
export interface FieldProblem {
  /** querystring, params, headers or body */
  in: string;
  /** The field's path, dotted: `variants.2.price`, `items.17.sku`. */
  name: string;
  reason: string;
  /** In a list of items (bulk updates): the item's position in the request, and its SKU. */
  index?: number;
  sku?: string;
}

export class CatalogError extends Error {
  override name = 'CatalogError';
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  readonly errors: readonly FieldProblem[] | undefined;
  /** Headers the answer must carry (a 401's WWW-Authenticate challenge). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly code: ProblemCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number; errors?: readonly FieldProblem[]; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = problemStatus[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.errors = options?.errors;
    this.headers = options?.headers;
  }
}

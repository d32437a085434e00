// One error type for everything the catalog refuses or cannot do. The code is stable (clients and
// the problem+json `type` use it); the message is for people.
export const problemStatus = {
  'invalid-parameter': 400,
  'invalid-cursor': 400,
  'product-not-found': 404,
  'category-not-found': 404,
  'brand-not-found': 404,
  'route-not-found': 404,
  'service-unavailable': 503,
  'internal-error': 500,
} as const;

export type ProblemCode = keyof typeof problemStatus;

export class CatalogError extends Error {
  override name = 'CatalogError';
  readonly status: number;

  constructor(
    readonly code: ProblemCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = problemStatus[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  readonly retryAfterSeconds: number | undefined;
}

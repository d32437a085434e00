// The HTTP-only parts of the admin routes: paths, the precondition and idempotency headers, and how
// their answers are documented (ETag, Location). The bodies are the domain's (catalog/product-admin.ts).
import Type from 'typebox';
import { BulkVariantResult } from '../../catalog/product-admin.ts';
import { problemResponse, serverProblems } from './problem.ts';

export const AdminProductParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'Product id' }) });
export const VariantParams = Type.Object({ sku: Type.String({ minLength: 1, maxLength: 100, description: 'Variant SKU' }) });

export const PreconditionHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1000, description: 'The product\'s ETag ("7"): the write happens only over that version, else 412' })),
});

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: '^[\\x21-\\x7e]{1,255}$',
      description: 'A key of your choosing (a UUID): a retry with the same key and body gets the first answer and changes nothing again',
    }),
  ),
});

const noStore = { type: 'string', description: 'no-store' } as const;
// A component of openapi.yaml (buildApp adds it), not a copy in each of the seven answers.
const AdminProductRef = Type.Ref('AdminProduct');
const etag = { type: 'string', description: 'The product version, quoted ("7"): send it as If-Match' } as const;

export const productAnswer = (description: string) => ({
  description,
  headers: { etag, 'cache-control': noStore },
  content: { 'application/json': { schema: AdminProductRef } },
});

export const createdAnswer = {
  description: 'Created (or, for a retried Idempotency-Key, the first answer again, with Idempotent-Replayed: true)',
  headers: { location: { type: 'string', description: 'The product in the admin API' }, etag, 'cache-control': noStore },
  content: { 'application/json': { schema: AdminProductRef } },
} as const;

export const bulkAnswer = {
  description: 'Applied, in one transaction (or, for a retried Idempotency-Key, the first answer again)',
  headers: { 'cache-control': noStore },
  content: { 'application/json': { schema: BulkVariantResult } },
} as const;

/** What any admin route may answer besides its own statuses. */
export const adminProblems = {
  400: problemResponse('The request is malformed: the problem names each bad field'),
  401: problemResponse('No token, or not a known one (WWW-Authenticate: Bearer)'),
  403: problemResponse('The token lacks the scope: read for GET, write for the rest'),
  ...serverProblems,
};

/** And the routes taking a body. */
export const bodyProblems = {
  // HTTP_BODY_LIMIT_BYTES bounds every body before it is parsed; a bulk update of 1,000 SKUs takes about 100 KB.
  413: problemResponse('The body is larger than HTTP_BODY_LIMIT_BYTES (1 MiB unless configured)'),
  415: problemResponse('The body is not application/json'),
};

export const writeProblems = {
  409: problemResponse('A slug, SKU or external id belongs to another product'),
  422: problemResponse('The write is well-formed but cannot be applied (an unknown category, brand or SKU, a compare-at price below the price, ...): the problem names each'),
};

export const preconditionFailed = { 412: problemResponse('If-Match names a version the product is no longer at: read it again') };

// The admin API: writes to products and variants, under /admin. Thin: each route authenticates (the
// plugin's hook), reads the precondition and idempotency headers, and hands the write to the store.
// Never cached: every answer says no-store, and the routes stand outside the hot path.
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { CatalogError } from '../../catalog/catalog-error.ts';
import { BulkVariantUpdate, ProductCreate, ProductPatch, ProductReplace, VariantPatch, type AdminProduct } from '../../catalog/product-admin.ts';
import type { AdminToken } from '../../config.ts';
import type { Answer, ProductAdminStore, WriteContext } from '../../store/product-admin-store.ts';
import { adminAuthentication, adminTokenOf } from '../admin-auth.ts';
import { createStrictValidatorCompiler } from '../strict-validation.ts';
import { problemResponse } from '../schemas/problem.ts';
import {
  AdminProductParams,
  adminProblems,
  bodyProblems,
  bulkAnswer,
  createdAnswer,
  IdempotencyHeaders,
  PreconditionHeaders,
  preconditionFailed,
  productAnswer,
  VariantParams,
  writeProblems,
} from '../schemas/admin.ts';

export interface AdminRouteOptions {
  store: ProductAdminStore;
  tokens: readonly AdminToken[];
}

const notFound = { 404: problemResponse('No such product') };
const variantNotFound = { 404: problemResponse('No variant has this SKU') };

const noStore: onRequestHookHandler = (_request, reply, done) => {
  reply.header('cache-control', 'no-store');
  done();
};

type AdminApp = Parameters<FastifyPluginAsyncTypebox>[0];

// Not a cached read: the hot path never answers these (it would skip the token check). Bodies are
// bounded by the app's bodyLimit (HTTP_BODY_LIMIT_BYTES), the one limit for every route.
const route = { config: { hotPath: false } };
const documented = { tags: ['admin'], security: [{ adminToken: [] }] };

export const adminProductRoutes: FastifyPluginAsyncTypebox<AdminRouteOptions> = async (app, { store, tokens }) => {
  app.setValidatorCompiler(createStrictValidatorCompiler());
  app.addHook('onRequest', noStore);
  app.addHook('onRequest', adminAuthentication(tokens));
  productRoutes(app, store);
  variantRoutes(app, store);
};

function productRoutes(app: AdminApp, store: ProductAdminStore): void {
  app.post(
    '/admin/products',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'Create a product',
        description: 'The slug defaults to one made from the name; the external id to admin-<uuid>.',
        headers: IdempotencyHeaders,
        body: ProductCreate,
        response: { 201: createdAnswer, ...adminProblems, ...bodyProblems, ...writeProblems },
      },
    },
    async (request, reply) => {
      const answer = await store.createProduct(request.body, writeContext(request), (product) => ({
        status: 201,
        headers: { location: `/admin/products/${product.id}`, etag: etagOf(product) },
        body: product,
      }));
      return send(reply, answer);
    },
  );

  app.get(
    '/admin/products/:id',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'A product as stored',
        description: 'From the primary, never cached, whatever its status.',
        params: AdminProductParams,
        response: { 200: productAnswer('The product, with its status, external id and version'), ...notFound, ...adminProblems },
      },
    },
    async (request, reply) => {
      const product = await store.findProduct(Number(request.params.id));
      if (!product) throw new CatalogError('product-not-found', `no product ${request.params.id}`);
      return reply.header('etag', etagOf(product)).send(product);
    },
  );

  app.put(
    '/admin/products/:id',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'Replace a product',
        description: 'Every field and the whole variant set: variants not listed are removed.',
        params: AdminProductParams,
        headers: PreconditionHeaders,
        body: ProductReplace,
        response: { 200: productAnswer('Replaced'), ...notFound, ...preconditionFailed, ...adminProblems, ...bodyProblems, ...writeProblems },
      },
    },
    async (request, reply) => sendProduct(reply, await store.replaceProduct(Number(request.params.id), request.body, writeContext(request))),
  );

  app.patch(
    '/admin/products/:id',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'Change some fields of a product',
        description: 'Rename its slug, move it to another category, change its brand or status, ...',
        params: AdminProductParams,
        headers: PreconditionHeaders,
        body: ProductPatch,
        response: { 200: productAnswer('Changed'), ...notFound, ...preconditionFailed, ...adminProblems, ...bodyProblems, ...writeProblems },
      },
    },
    async (request, reply) => sendProduct(reply, await store.patchProduct(Number(request.params.id), request.body, writeContext(request))),
  );

  app.delete(
    '/admin/products/:id',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'Archive a product',
        description: 'Its status becomes archived: it leaves every listing and page. Nothing is deleted; PATCH the status back to restore it.',
        params: AdminProductParams,
        headers: PreconditionHeaders,
        response: { 200: productAnswer('Archived (or already archived)'), ...notFound, ...preconditionFailed, ...adminProblems },
      },
    },
    async (request, reply) => sendProduct(reply, await store.archiveProduct(Number(request.params.id), writeContext(request))),
  );
}

function variantRoutes(app: AdminApp, store: ProductAdminStore): void {
  app.patch(
    '/admin/variants/:sku',
    {
      ...route,
      schema: {
        ...documented,
        summary: "Set a variant's price, compare-at price or stock",
        description: "If-Match names the version of the variant's product; the answer is that product.",
        params: VariantParams,
        headers: PreconditionHeaders,
        body: VariantPatch,
        response: { 200: productAnswer("The variant's product"), ...variantNotFound, ...preconditionFailed, ...adminProblems, ...bodyProblems, 422: writeProblems[422] },
      },
    },
    async (request, reply) => sendProduct(reply, await store.updateVariant(request.params.sku, request.body, writeContext(request))),
  );

  app.post(
    '/admin/variants/bulk',
    {
      ...route,
      schema: {
        ...documented,
        summary: 'Set prices and stock of up to 1,000 variants',
        description: 'All or nothing, in one transaction, one change event per product. Refused whole when any item cannot be applied: the 422 lists each (index, sku, reason).',
        headers: IdempotencyHeaders,
        body: BulkVariantUpdate,
        response: { 200: bulkAnswer, ...adminProblems, ...bodyProblems, 422: writeProblems[422] },
      },
    },
    async (request, reply) => send(reply, await store.updateVariants(request.body.items, writeContext(request), (result) => ({ status: 200, headers: {}, body: result }))),
  );
}

function writeContext(request: FastifyRequest): WriteContext {
  const headers = request.headers as { 'if-match'?: string; 'idempotency-key'?: string };
  const key = headers['idempotency-key'];
  return {
    tokenName: adminTokenOf(request).name,
    ifMatch: ifMatchVersions(headers['if-match']),
    idempotency: key === undefined ? undefined : { key, fingerprint: fingerprint(request) },
  };
}

/** The versions an If-Match header names; undefined when absent or `*` (the product need only exist). Weak tags never match. */
export function ifMatchVersions(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  return header.split(',').flatMap((tag) => {
    const version = /^\s*"([0-9]{1,15})"\s*$/.exec(tag)?.[1];
    return version === undefined ? [] : [Number(version)];
  });
}

/** The same method, path and body digest the same: what a retry under one Idempotency-Key must repeat. */
function fingerprint(request: FastifyRequest): string {
  return createHash('sha256').update(`${request.method} ${request.url.split('?')[0]}\n`).update(JSON.stringify(request.body ?? null)).digest('hex');
}

const etagOf = (product: Pick<AdminProduct, 'version'>) => `"${product.version}"`;

function sendProduct(reply: FastifyReply, product: AdminProduct): FastifyReply {
  return reply.header('etag', etagOf(product)).send(product);
}

function send(reply: FastifyReply, answer: Answer): FastifyReply {
  reply.code(answer.status).headers(answer.headers);
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  return reply.send(answer.body);
}

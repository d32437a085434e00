// The admin API's writes, each one transaction on the primary through the write path every write
// takes (store/product-changes.ts): lock and snapshot the products, check the precondition against
// the locked row, write, commit one change event per changed product with it. A refused write rolls
// back whole: nothing is half-written, no event is left behind.
import pg from 'pg';
import { CatalogError } from '../catalog/catalog-error.ts';
import {
  bulkItemProblems,
  completeFields,
  requireValidVariantSet,
  updatedPricesProblem,
  type AdminProduct,
  type BulkVariantItem,
  type BulkVariantResult,
  type ProductCreate,
  type ProductFields,
  type ProductPatch,
  type ProductReplace,
  type VariantPatch,
} from '../catalog/product-admin.ts';
import type { ProductSnapshot } from '../catalog/product-change.ts';
import { claimIdempotencyKey, pruneIdempotencyKeys, storeIdempotentAnswer, type IdempotentRequest, type StoredAnswer } from './admin-idempotency.ts';
import { isDatabaseUnavailable } from './postgres-guard.ts';
import { recordProductChanges, snapshotProducts } from './product-changes.ts';
import {
  findVariants,
  insertProduct,
  insertVariants,
  newProductSlug,
  readAdminProduct,
  replaceVariants,
  requireFreeExternalId,
  requireFreeSlug,
  requireOwnSkus,
  resolveReferences,
  updateProductColumns,
  updateVariantPrices,
  type Client,
  type LockableVariant,
} from './product-admin-writes.ts';

export interface WriteContext {
  /** The token's name: events name `admin:<name>` as their actor; idempotency keys are kept per token. */
  tokenName: string;
  /** The versions If-Match names (checked against the locked row); absent: no precondition. */
  ifMatch?: readonly number[] | undefined;
  /** Idempotency-Key, on the POSTs. */
  idempotency?: IdempotentRequest | undefined;
}

/** An answer, and whether it is one stored earlier under the request's Idempotency-Key. */
export interface Answer extends StoredAnswer {
  replayed: boolean;
}

export interface ProductAdminStore {
  /** From the primary, any status. */
  findProduct(id: number): Promise<AdminProduct | undefined>;
  createProduct(input: ProductCreate, context: WriteContext, answer: (product: AdminProduct) => StoredAnswer): Promise<Answer>;
  replaceProduct(id: number, input: ProductReplace, context: WriteContext): Promise<AdminProduct>;
  patchProduct(id: number, patch: ProductPatch, context: WriteContext): Promise<AdminProduct>;
  /** Sets the status to archived: the product leaves every listing and page; its rows stay. */
  archiveProduct(id: number, context: WriteContext): Promise<AdminProduct>;
  /** If-Match names the version of the variant's product. */
  updateVariant(sku: string, patch: VariantPatch, context: WriteContext): Promise<AdminProduct>;
  /** All or nothing: an item that cannot be applied refuses the request, naming every such item. */
  updateVariants(items: readonly BulkVariantItem[], context: WriteContext, answer: (result: BulkVariantResult) => StoredAnswer): Promise<Answer>;
}

// Expired idempotency keys are deleted by the first keyed write after this long.
const PRUNE_INTERVAL_MS = 60_000;
// Rounds of locking a bulk update's products: another is needed only when a SKU moved meanwhile.
const MAX_LOCK_ROUNDS = 3;

export function createProductAdminStore({ pool, idempotencyTtlMs }: { pool: pg.Pool; idempotencyTtlMs: number }): ProductAdminStore {
  let prunedAt = 0;

  async function idempotentWrite<T>(context: WriteContext, answer: (result: T) => StoredAnswer, write: (client: Client) => Promise<T>): Promise<Answer> {
    if (context.idempotency && Date.now() - prunedAt >= PRUNE_INTERVAL_MS) {
      prunedAt = Date.now();
      await transaction(pool, (client) => pruneIdempotencyKeys(client, idempotencyTtlMs));
    }
    return transaction(pool, async (client) => {
      const { idempotency } = context;
      const stored = idempotency && (await claimIdempotencyKey(client, context.tokenName, idempotency, idempotencyTtlMs));
      if (stored) return { ...stored, replayed: true };
      const reply = answer(await write(client));
      if (idempotency) await storeIdempotentAnswer(client, context.tokenName, idempotency.key, reply);
      return { ...reply, replayed: false };
    });
  }

  /** Locks the product, checks If-Match against it, writes, records the change, answers with the product as committed. */
  function writeProduct(id: number, context: WriteContext, write: (client: Client, current: ProductSnapshot) => Promise<void>): Promise<AdminProduct> {
    return transaction(pool, async (client) => {
      const before = await lockProducts(client, [id]);
      const current = before.get(id);
      if (!current) throw new CatalogError('product-not-found', `no product ${id}`);
      requireVersion(current.version, context.ifMatch);
      await write(client, current);
      await recordProductChanges(client, before, [id], actor(context));
      return (await readAdminProduct(client, id)) as AdminProduct;
    });
  }

  return {
    findProduct: (id) => readAdminProduct(pool, id).catch((error: unknown) => Promise.reject(asCatalogError(error))),

    async createProduct(input, context, answer) {
      const fields = completeFields(input);
      requireValidVariantSet(input.variants ?? []);
      return idempotentWrite(context, answer, async (client) => {
        const { categoryId, brandId } = await resolveReferences(client, fields);
        const slug = await newProductSlug(client, input.name, input.slug);
        if (input.externalId !== undefined) await requireFreeExternalId(client, input.externalId, null);
        const variants = input.variants ?? [];
        await requireOwnSkus(client, variants, null);
        const id = await insertProduct(client, { fields: { ...fields, name: input.name }, slug, categoryId: categoryId as number, brandId: brandId ?? null });
        await insertVariants(client, id, variants.map((variant, position) => ({ ...variant, position })));
        // Nothing to lock or snapshot before: a product missing from `before` is recorded as created.
        await recordProductChanges(client, new Map(), [id], actor(context));
        return (await readAdminProduct(client, id)) as AdminProduct;
      });
    },

    async replaceProduct(id, input, context) {
      requireValidVariantSet(input.variants);
      return writeProduct(id, context, async (client, current) => {
        await requireOwnSkus(client, input.variants, id);
        await setFields(client, id, completeFields(input), current);
        await replaceVariants(client, id, input.variants);
      });
    },

    patchProduct(id, patch, context) {
      return writeProduct(id, context, (client, current) => setFields(client, id, patch, current));
    },

    archiveProduct(id, context) {
      return writeProduct(id, context, (client, current) => setFields(client, id, { status: 'archived' }, current));
    },

    updateVariant(sku, patch, context) {
      return transaction(pool, async (client) => {
        const found = (await findVariants(client, [sku])).get(sku);
        if (!found) throw new CatalogError('variant-not-found', `no variant with SKU ${sku}`);
        const before = await lockProducts(client, [found.productId]);
        const current = before.get(found.productId) as ProductSnapshot;
        // Read again under the product's lock: a replace may have removed it meanwhile.
        const variant = (await findVariants(client, [sku])).get(sku);
        if (!variant || variant.productId !== found.productId) throw new CatalogError('variant-not-found', `no variant with SKU ${sku}`);
        requireVersion(current.version, context.ifMatch);
        const problem = updatedPricesProblem(variant, patch);
        if (problem) throw new CatalogError('invalid-write', `compareAtPrice ${problem}`, { errors: [{ in: 'body', name: 'compareAtPrice', reason: problem }] });
        await updateVariantPrices(client, [{ sku, ...patch }]);
        await recordProductChanges(client, before, [found.productId], actor(context));
        return (await readAdminProduct(client, found.productId)) as AdminProduct;
      });
    },

    updateVariants(items, context, answer) {
      return idempotentWrite(context, answer, async (client) => {
        const skus = items.map((item) => item.sku);
        const { before, variants } = await lockVariantProducts(client, skus);
        const problems = bulkItemProblems(items, variants);
        if (problems.length > 0) {
          throw new CatalogError('invalid-write', `${new Set(problems.map((problem) => problem.index)).size} of ${items.length} items cannot be applied; nothing was changed`, {
            errors: problems,
          });
        }
        await updateVariantPrices(client, items);
        const events = await recordProductChanges(client, before, [...before.keys()], actor(context));
        const { rows } = await client.query<{ id: number; version: number }>('SELECT id, version FROM products WHERE id = ANY($1::bigint[])', [[...before.keys()]]);
        const versions = new Map(rows.map((row) => [row.id, row.version]));
        return {
          items: items.map((item) => {
            const productId = (variants.get(item.sku) as LockableVariant).productId;
            return { sku: item.sku, productId, version: versions.get(productId) as number };
          }),
          productsChanged: events.length,
        };
      });
    },
  };
}

function actor(context: WriteContext): string {
  return `admin:${context.tokenName}`;
}

function lockProducts(client: Client, ids: readonly number[]): Promise<Map<number, ProductSnapshot>> {
  return snapshotProducts(client, { ids }, { lock: true });
}

/** Locks the products owning these SKUs and reads the SKUs again under the locks. */
async function lockVariantProducts(client: Client, skus: readonly string[]): Promise<{ before: Map<number, ProductSnapshot>; variants: Map<string, LockableVariant> }> {
  const before = new Map<number, ProductSnapshot>();
  let variants = await findVariants(client, skus);
  for (let round = 0; ; round += 1) {
    const unlocked = [...new Set([...variants.values()].map((variant) => variant.productId))].filter((id) => !before.has(id));
    if (unlocked.length === 0) return { before, variants };
    if (round === MAX_LOCK_ROUNDS) throw new CatalogError('service-unavailable', 'the variants kept moving while they were being locked; retry', { retryAfterSeconds: 1 });
    for (const [id, snapshot] of await lockProducts(client, unlocked)) before.set(id, snapshot);
    variants = await findVariants(client, skus);
  }
}

function requireVersion(version: number, ifMatch: readonly number[] | undefined): void {
  if (ifMatch !== undefined && !ifMatch.includes(version)) {
    throw new CatalogError('version-mismatch', `the product is at version ${version}; If-Match named ${ifMatch.length > 0 ? ifMatch.join(', ') : 'no version'}`);
  }
}

/** Writes the given fields over the locked product (absent ones stay). */
async function setFields(client: Client, id: number, fields: ProductFields, current: ProductSnapshot): Promise<void> {
  const { categoryId, brandId } = await resolveReferences(client, fields);
  if (fields.slug !== undefined && fields.slug !== current.placement.slug) await requireFreeSlug(client, fields.slug, id);
  if (fields.externalId !== undefined) await requireFreeExternalId(client, fields.externalId, id);
  await updateProductColumns(client, id, {
    name: fields.name,
    slug: fields.slug,
    description: fields.description,
    category_id: categoryId,
    brand_id: brandId,
    attributes: fields.attributes,
    images: fields.images,
    rating: fields.rating,
    status: fields.status,
    external_id: fields.externalId,
  });
}

async function transaction<T>(pool: pg.Pool, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((error: unknown) => Promise.reject(asCatalogError(error)));
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw asCatalogError(error);
  } finally {
    client.release(broken);
  }
}

// The unique constraints a race past the checks above can still hit.
const TAKEN = { products_slug_key: 'slug-taken', products_external_id_key: 'external-id-taken', variants_sku_key: 'sku-taken' } as const;

/** A database error as the problem the client gets: a conflict (409), a rule (422), or the database out of reach (503). */
function asCatalogError(error: unknown): unknown {
  if (error instanceof CatalogError) return error;
  if (error instanceof pg.DatabaseError) {
    const taken = TAKEN[error.constraint as keyof typeof TAKEN];
    if (error.code === '23505' && taken) return new CatalogError(taken, error.detail ?? error.message, { cause: error });
    if (error.code === '23514') return new CatalogError('invalid-write', `refused by the check ${error.constraint ?? ''}`, { cause: error });
    if (!isDatabaseUnavailable(error)) return error;
  } else if (!isConnectionFailure(error)) {
    return error;
  }
  return new CatalogError('service-unavailable', 'the catalog database is unavailable', { cause: error, retryAfterSeconds: 1 });
}

/** pg's own errors for a connection it could not make or lost (no SQLSTATE). */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  return (typeof code === 'string' && code.startsWith('E')) || /connect|connection|terminated|timeout/i.test(error.message);
}

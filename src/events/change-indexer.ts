// The indexer as functions, whatever carries the messages (a Kafka partition, the in-process feed):
// decode each change, load the changed products as they are now, write their search documents
// (version-guarded) and invalidate every cached page the changes touched. A batch is done only when
// all of that is, and only then may the carrier commit its offsets. docs/change-pipeline.md, "Indexer".
import { setTimeout as sleepFor } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Compile } from 'typebox/compile';
import { productChangeTags } from '../catalog/cache-tags.ts';
import { ProductChangeEvent } from '../catalog/product-change.ts';
import type { SearchDocumentChange } from '../catalog/search-document.ts';
import type { ChangeFeedConfig } from '../config.ts';
import type { SearchIndexWriter, SearchIndexWriteResult } from '../search/search-port.ts';
import type { ChangeMessage } from './change-feed.ts';
import type { DeadLetterSink } from './dead-letters.ts';
import { indexerMetrics, type IndexerMetrics } from './indexer-metrics.ts';
import { IndexingFailure, InvalidChangeEvent, retryDelayMs, step } from './indexing-failures.ts';

export interface ChangeIndexerOptions {
  /** The products' current search documents, read from the primary (store/search-documents.ts). */
  documents: (productIds: readonly number[]) => Promise<SearchDocumentChange[]>;
  searchIndex: SearchIndexWriter;
  /** Rejects while Redis is down (roles/dependencies.ts buildInvalidator, or CatalogCache.invalidate). */
  invalidator: { invalidate(tags: readonly string[]): Promise<void> };
  deadLetters: DeadLetterSink;
  log: Logger;
  metrics: Registry;
  settings: ChangeFeedConfig['indexer'];
  now?: () => number;
  /** Rejects when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface ProcessOptions {
  /** Called while a batch waits to retry, so the consumer group keeps this member; a rejection (a rebalance) stops the batch. */
  heartbeat?: () => Promise<void>;
  /** Aborted on shutdown: a batch waiting to retry rejects instead of holding the process; uncommitted, it is redelivered. */
  signal?: AbortSignal;
}

export interface BatchOutcome {
  /** Valid change events in the batch. */
  events: number;
  /** Search documents written or removed. */
  applied: number;
  /** Search documents the index already held at that version or newer. */
  stale: number;
  deadLettered: number;
}

export interface ChangeIndexer {
  processMessage(message: ChangeMessage, options?: ProcessOptions): Promise<BatchOutcome>;
  /** Resolves once every message is applied (documents written, caches invalidated) or dead-lettered. */
  processBatch(messages: readonly ChangeMessage[], options?: ProcessOptions): Promise<BatchOutcome>;
}

const checkEvent = Compile(ProductChangeEvent);

/** The change a message carries; an InvalidChangeEvent when it is not one this indexer understands. */
export function decodeChangeMessage(message: ChangeMessage): ProductChangeEvent {
  if (!message.value) throw new InvalidChangeEvent('the message has no value');
  let value: unknown;
  try {
    value = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    throw new InvalidChangeEvent(`the value is not JSON: ${(error as Error).message}`);
  }
  if (!checkEvent.Check(value)) {
    const [first] = checkEvent.Errors(value);
    throw new InvalidChangeEvent(`not a change event of this schema version: ${first ? `${first.instancePath || '/'} ${first.message}` : 'invalid'}`);
  }
  return value;
}

interface Received {
  message: ChangeMessage;
  event: ProductChangeEvent;
}

type Context = Omit<ChangeIndexerOptions, 'metrics' | 'now' | 'sleep' | 'random'> &
  Required<Pick<ChangeIndexerOptions, 'now' | 'sleep' | 'random'>> & { counters: IndexerMetrics };

// A wait longer than this is cut into slices with a heartbeat between them, so a consumer waiting
// out a long backoff (up to INDEXER_RETRY_MAX_MS) stays in its group and notices a rebalance.
const HEARTBEAT_SLICE_MS = 1000;

export function createChangeIndexer(options: ChangeIndexerOptions): ChangeIndexer {
  const context: Context = {
    ...options,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal })),
    random: options.random ?? Math.random,
    counters: indexerMetrics(options.metrics),
  };
  const processBatch = (messages: readonly ChangeMessage[], processOptions: ProcessOptions = {}) => processChanges(context, messages, processOptions);
  return { processBatch, processMessage: (message, processOptions) => processBatch([message], processOptions) };
}

async function processChanges(context: Context, messages: readonly ChangeMessage[], options: ProcessOptions): Promise<BatchOutcome> {
  context.counters.consumed.inc(messages.length);
  const outcome: BatchOutcome = { events: 0, applied: 0, stale: 0, deadLettered: 0 };
  const received: Received[] = [];
  for (const message of messages) {
    try {
      received.push({ message, event: decodeChangeMessage(message) });
    } catch (error) {
      // Retrying cannot fix it: dead-lettered at once, and the batch goes on.
      await deadLetter(context, [message], error, 'invalid-event', options);
      outcome.deadLettered += 1;
    }
  }
  if (received.length === 0) return outcome;
  outcome.events = received.length;
  const byProduct = new Map<number, Received[]>();
  for (const change of received) {
    const changes = byProduct.get(change.event.productId);
    if (changes) changes.push(change);
    else byProduct.set(change.event.productId, [change]);
  }
  const products = [...byProduct.values()];
  // The whole batch first (one read, one write, one invalidation). When it fails for a reason of its
  // own rather than an outage, each product goes on its own, so one poison product is dead-lettered
  // alone and the others are applied.
  if (products.length > 1) {
    const whole = await applyWithRetries(context, received, 1, options);
    if ('written' in whole) return addWritten(outcome, whole.written);
    context.log.warn({ err: whole.failure, products: products.length }, 'a batch of changes failed; applying it product by product');
  }
  const limit = pLimit(context.settings.concurrency);
  // Settled, not all: a shutdown that aborts one product's wait must not leave another's write
  // running against pools about to close.
  const settled = await Promise.allSettled(
    products.map((changes) =>
      limit(async () => {
        const result = await applyWithRetries(context, changes, context.settings.maxAttempts, options);
        if ('written' in result) return addWritten(outcome, result.written);
        await deadLetter(context, changes.map(({ message }) => message), result.failure.cause, result.failure.reason, options);
        outcome.deadLettered += changes.length;
        return outcome;
      }),
    ),
  );
  const rejected = settled.find((result) => result.status === 'rejected');
  if (rejected) throw rejected.reason;
  return outcome;
}

function addWritten(outcome: BatchOutcome, written: SearchIndexWriteResult): BatchOutcome {
  outcome.applied += written.applied;
  outcome.stale += written.stale;
  return outcome;
}

/**
 * Applies the changes until it succeeds, waiting out any outage for as long as it lasts; resolves
 * with the failure once the changes themselves failed `maxFailures` times.
 */
async function applyWithRetries(
  context: Context,
  changes: readonly Received[],
  maxFailures: number,
  options: ProcessOptions,
): Promise<{ written: SearchIndexWriteResult } | { failure: IndexingFailure }> {
  // Documents written by an attempt whose invalidation then failed are not stale on the next one.
  const progress = { applied: 0 };
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return { written: await apply(context, changes, progress) };
    } catch (error) {
      const failure = error instanceof IndexingFailure ? error : new IndexingFailure('search-write', 'search-write-failed', false, error);
      context.counters.failed.inc({ reason: failure.reason }, changes.length);
      if (!failure.transient && ++failures >= maxFailures) return { failure };
      const delayMs = retryDelayMs(attempt, context.settings, context.random);
      const products = [...new Set(changes.map(({ event }) => event.productId))];
      context.log.warn({ err: failure, reason: failure.reason, transient: failure.transient, attempt, delayMs, products: products.slice(0, 20) }, 'applying changes failed; retrying');
      await pause(context, delayMs, options);
    }
  }
}

async function apply(context: Context, changes: readonly Received[], progress: { applied: number }): Promise<SearchIndexWriteResult> {
  const productIds = [...new Set(changes.map(({ event }) => event.productId))];
  const documents = await step('document-load', () => context.documents(productIds));
  const written = await step('search-write', () => context.searchIndex.write(documents));
  progress.applied += written.applied;
  // Every event's own before and after: the old slug, the old and new categories and brands. A
  // change whose document was stale is invalidated all the same, since a crash may have come between
  // its write and its invalidation last time.
  const tags = new Set<string>();
  for (const { event } of changes) for (const tag of productChangeTags(event.before, event.after)) tags.add(tag);
  await step('invalidation', () => context.invalidator.invalidate([...tags]));
  const done = context.now();
  for (const { event } of changes) context.counters.latency.observe(Math.max(0, done - Date.parse(event.committedAt)) / 1000);
  const stale = Math.max(0, written.applied + written.stale - progress.applied);
  context.counters.stale.inc(stale);
  return { applied: progress.applied, stale };
}

/** Waits before a retry, heartbeating the consumer group between slices; rejects when the signal aborts. */
async function pause(context: Context, ms: number, options: ProcessOptions): Promise<void> {
  for (let remaining = ms; remaining > 0; remaining -= HEARTBEAT_SLICE_MS) {
    try {
      await context.sleep(Math.min(remaining, HEARTBEAT_SLICE_MS), options.signal);
    } finally {
      // With the shutdown's reason rather than a bare AbortError.
      options.signal?.throwIfAborted();
    }
    await options.heartbeat?.();
  }
}

/** Stores each message as a dead letter, retrying the sink for as long as it takes: a change is never dropped. */
async function deadLetter(context: Context, messages: readonly ChangeMessage[], error: unknown, reason: string, options: ProcessOptions): Promise<void> {
  for (const message of messages) {
    for (let attempt = 1; ; attempt++) {
      try {
        await context.deadLetters.send(message, error, reason);
        break;
      } catch (sendError) {
        const delayMs = retryDelayMs(attempt, context.settings, context.random);
        context.log.error({ err: sendError, attempt, delayMs }, 'storing a dead letter failed; retrying');
        await pause(context, delayMs, options);
      }
    }
    context.counters.deadLettered.inc({ reason });
    const { topic, partition, offset, key } = message;
    context.log.error({ err: error, reason, topic, partition, offset, key }, 'change dead-lettered');
  }
}

// asyncapi.yaml, beside openapi.yaml: the change feed's contract for consumers in other services,
// generated from the same TypeBox schema the indexer validates events with (a test keeps it current).
import { stringify } from 'yaml';
import { CHANGE_EVENT_SCHEMA_VERSION, CHANGE_EVENT_TYPE, ProductChangeEvent } from '../catalog/product-change.ts';
import { loadConfig } from '../config.ts';

export function renderAsyncApiDocument(): string {
  // Topic names are settings; the document names their defaults.
  const defaults = loadConfig({ KAFKA_BROKERS: 'localhost:9092' }).changeFeed.kafka;
  const productChanged = { $ref: '#/components/messages/productChanged' };
  const document = {
    asyncapi: '3.0.0',
    info: {
      title: 'Catalog service change feed',
      version: String(CHANGE_EVENT_SCHEMA_VERSION),
      description: [
        'Every committed change to a product, published by the relay from the transactional outbox.',
        'At least once, in order per product (the key is the product id). A consumer keeps the highest',
        '`version` it applied per product and ignores anything not newer: duplicates, replays and',
        'reordering then end in the newest state. The info version is the event schema version.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    channels: {
      productChanges: {
        address: defaults?.changeTopic,
        description: 'Set by KAFKA_CHANGE_TOPIC.',
        messages: { productChanged },
      },
      deadLetters: {
        address: defaults?.deadLetterTopic,
        description:
          'Set by KAFKA_DEAD_LETTER_TOPIC. Changes the indexer gave up on: the original key and value, with headers naming where it came from and why. `replay-dead-letters` re-drives them.',
        messages: { productChanged },
      },
    },
    operations: {
      publishProductChanges: { action: 'send', channel: { $ref: '#/channels/productChanges' }, messages: [{ $ref: '#/channels/productChanges/messages/productChanged' }] },
      indexProductChanges: { action: 'receive', channel: { $ref: '#/channels/productChanges' }, messages: [{ $ref: '#/channels/productChanges/messages/productChanged' }] },
    },
    components: {
      messages: {
        productChanged: {
          name: CHANGE_EVENT_TYPE,
          title: 'Product changed',
          contentType: 'application/json',
          headers: {
            type: 'object',
            properties: {
              'event-type': { type: 'string', const: CHANGE_EVENT_TYPE },
              'schema-version': { type: 'string', const: String(CHANGE_EVENT_SCHEMA_VERSION) },
            },
          },
          payload: { $ref: '#/components/schemas/ProductChangeEvent' },
          bindings: { kafka: { key: { type: 'string', pattern: '^[0-9]+$', description: 'The product id' } } },
        },
      },
      schemas: { ProductChangeEvent: JSON.parse(JSON.stringify(ProductChangeEvent)) as object },
    },
  };
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

// The OpenSearch engine's index: its analyzers and mappings, and what one product is indexed as.
// Shoppers reach it through an alias (OPENSEARCH_INDEX); the concrete index behind it is
// `<alias>-<suffix>`, so reindex can build a new one and swap the alias in one step.
import type { API, Client } from '@opensearch-project/opensearch';
import type { SearchDocument, SearchDocumentChange } from '../catalog/search-document.ts';
import { callOpenSearch } from './opensearch-client.ts';

/** The longest word prefix indexed for suggestions. */
export const MAX_PREFIX_LENGTH = 20;

/** Separates the parts of the keyword values facets and suggestions aggregate on (never in a name: control characters are refused). */
export const KEY_SEPARATOR = '\u001f';

const text = { type: 'text', analyzer: 'catalog_text', search_analyzer: 'catalog_text_search' } as const;
const prefixes = { type: 'text', analyzer: 'catalog_prefix', search_analyzer: 'catalog_prefix_search' } as const;
const namedRef = (copyTo: string[]) => ({
  properties: {
    id: { type: 'long' as const },
    slug: { type: 'keyword' as const },
    name: { ...text, copy_to: copyTo, fields: { prefix: prefixes } },
  },
});

export interface IndexDefinitionOptions {
  synonyms: readonly string[];
  shards?: number;
  replicas?: number;
}

/** The body of `PUT /<index>`: settings with the analyzers, and the mappings of an IndexedProduct. */
export function indexDefinition({ synonyms, shards = 1, replicas = 1 }: IndexDefinitionOptions) {
  return {
    settings: {
      number_of_shards: shards,
      number_of_replicas: replicas,
      // A removed product is a tombstone document, never a delete, so gc_deletes does not bound how
      // long a late event is refused; it is left at its default.
      max_result_window: MAX_RESULT_WINDOW,
      analysis: {
        filter: {
          catalog_possessive: { type: 'stemmer', language: 'possessive_english' },
          catalog_stemmer: { type: 'stemmer', language: 'english' },
          // Parsed by the filters before it in catalog_text_search, so the rules are folded and
          // stemmed like the words they meet ("tshirts" -> "tshirt" -> "t shirt", "tee").
          catalog_synonyms: { type: 'synonym_graph', synonyms: [...synonyms] },
          catalog_edge_ngrams: { type: 'edge_ngram', min_gram: 1, max_gram: MAX_PREFIX_LENGTH },
          // A typed word longer than the longest indexed prefix still finds the words it starts.
          catalog_prefix_truncate: { type: 'truncate', length: MAX_PREFIX_LENGTH },
          catalog_shingles: { type: 'shingle', min_shingle_size: 2, max_shingle_size: 3 },
        },
        analyzer: {
          catalog_text: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding', 'catalog_possessive', 'catalog_stemmer'] },
          // Synonyms at search time only: a synonyms change needs no reindex of the documents' terms.
          catalog_text_search: {
            type: 'custom',
            tokenizer: 'standard',
            filter: ['lowercase', 'asciifolding', 'catalog_possessive', 'catalog_stemmer', 'catalog_synonyms'],
          },
          catalog_prefix: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding', 'catalog_edge_ngrams'] },
          catalog_prefix_search: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding', 'catalog_prefix_truncate'] },
          catalog_spelling: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding', 'catalog_shingles'] },
        },
      },
    },
    mappings: {
      // A field the code does not know about is a bug: refuse it instead of guessing a mapping.
      dynamic: 'strict',
      properties: {
        id: { type: 'long' },
        version: { type: 'long' },
        removed: { type: 'boolean' },
        slug: { type: 'keyword' },
        name: { ...text, copy_to: ['searchText', 'spelling'], fields: { prefix: prefixes } },
        description: { ...text, copy_to: ['searchText'] },
        brand: namedRef(['searchText', 'spelling']),
        categories: namedRef(['searchText', 'spelling']),
        /** Every word a query must find (operator and), whichever field it is in. */
        searchText: text,
        /** Word shingles of names, brands and categories: the phrase suggester's language model. */
        spelling: { type: 'text', analyzer: 'catalog_spelling' },
        brandKey: { type: 'keyword' },
        categoryKeys: { type: 'keyword' },
        categorySuggestKeys: { type: 'keyword' },
        attributes: { type: 'nested', properties: { name: { type: 'keyword' }, value: { type: 'keyword' } } },
        image: { type: 'keyword', index: false, doc_values: false },
        priceMin: { type: 'long' },
        priceMax: { type: 'long' },
        currency: { type: 'keyword' },
        inStock: { type: 'boolean' },
        rating: { type: 'float' },
        createdAt: { type: 'date' },
      },
    },
    // Checked against the create-index body of OpenSearch's specification, keeping the literal type.
  } satisfies API.Indices_Create_RequestBody;
}

/** `from + size` past this is refused by OpenSearch; deep pages go by search_after instead. */
export const MAX_RESULT_WINDOW = 10_000;

/** A listed product as indexed: the SearchDocument plus the keys its facets and suggestions aggregate on. */
export interface IndexedProduct {
  id: number;
  version: number;
  removed: false;
  slug: string;
  name: string;
  description: string | null;
  brand: SearchDocument['brand'];
  categories: SearchDocument['categories'];
  /** `slug<US>name`: the brand facet's bucket key. */
  brandKey: string | null;
  /** `<ltree path><US>slug<US>name` of the category and each ancestor: the category facet picks children by path. */
  categoryKeys: string[];
  /** `<folded name><US>slug<US>name` of each category: suggestions match the folded name by prefix. */
  categorySuggestKeys: string[];
  attributes: { name: string; value: string }[];
  image: string | null;
  priceMin: number;
  priceMax: number;
  currency: string;
  inStock: boolean;
  rating: number | null;
  createdAt: string;
}

/** What stays of a removed product: its version, so an older change cannot bring it back. */
export interface ProductTombstone {
  id: number;
  version: number;
  removed: true;
}

export function indexedSource(change: SearchDocumentChange): IndexedProduct | ProductTombstone {
  const { document } = change;
  if (document === null) return { id: change.productId, version: change.version, removed: true };
  return indexedProduct(document);
}

export function indexedProduct(document: SearchDocument): IndexedProduct {
  const paths: string[] = [];
  const categoryKeys = document.categories.map((category) => {
    paths.push(String(category.id));
    return [paths.join('.'), category.slug, category.name].join(KEY_SEPARATOR);
  });
  return {
    id: document.id,
    version: document.version,
    removed: false,
    slug: document.slug,
    name: document.name,
    description: document.description,
    brand: document.brand,
    categories: document.categories,
    brandKey: document.brand === null ? null : [document.brand.slug, document.brand.name].join(KEY_SEPARATOR),
    categoryKeys,
    categorySuggestKeys: document.categories.map((category) => [foldForPrefix(category.name), category.slug, category.name].join(KEY_SEPARATOR)),
    attributes: Object.entries(document.attributes).map(([name, value]) => ({ name, value })),
    image: document.image,
    priceMin: document.priceMin,
    priceMax: document.priceMax,
    currency: document.currency,
    inStock: document.inStock,
    rating: document.rating,
    createdAt: document.createdAt,
  };
}

/** Lowercase, accents dropped, every run of other than letters and digits one space: how typed prefixes and names are compared. */
export function foldForPrefix(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A new concrete index's name: the alias, then a sortable UTC timestamp. */
export function concreteIndexName(alias: string, now: Date): string {
  return `${alias}-${now.toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '').toLowerCase()}`;
}

/**
 * Creates the alias's first index (empty: `reindex` fills it) when the alias does not exist yet.
 * Two processes starting together may both try: the second finds the index already there.
 */
export async function ensureOpenSearchIndex(options: { client: Client; alias: string; synonyms: readonly string[]; replicas?: number }): Promise<{ created: boolean; index: string }> {
  const { client, alias } = options;
  const exists = await callOpenSearch(client.indices.existsAlias({ name: alias }, { ignore: [404] }));
  if (exists.statusCode === 200) return { created: false, index: alias };
  const index = `${alias}-initial`;
  const created = await callOpenSearch(
    client.indices.create({ index, body: { ...indexDefinition(options), aliases: { [alias]: {} } } }, { ignore: [400] }),
  );
  if (created.statusCode === 400 && !isAlreadyExists(created.body)) {
    throw new Error(`creating OpenSearch index ${index} failed: ${JSON.stringify(created.body).slice(0, 500)}`);
  }
  return { created: created.statusCode === 200, index };
}

function isAlreadyExists(body: unknown): boolean {
  const type = (body as { error?: { type?: unknown } } | null)?.error?.type;
  return type === 'resource_already_exists_exception';
}

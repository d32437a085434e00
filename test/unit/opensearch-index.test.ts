// The OpenSearch index definition (analyzers, mappings), the synonyms file it carries inline, and
// what one product is indexed as. A field a query names but the mapping lacks would fail on a real
// cluster only (dynamic: strict refuses it at write, a query silently matches nothing), so the bodies
// the engine sends are checked against the mapping here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FACETS, type SearchRequest } from '../../src/catalog/search.ts';
import { GONE_VERSION } from '../../src/store/search-documents.ts';
import { readSynonymRules, synonymRules, SYNONYMS_FILE } from '../../src/search/solr-synonyms.ts';
import {
  concreteIndexName,
  foldForPrefix,
  indexDefinition,
  indexedSource,
} from '../../src/search/opensearch-index.ts';
import { countBody, searchBody } from '../../src/search/opensearch-query.ts';
import { suggestBody } from '../../src/search/opensearch-suggest.ts';
import { versionsPageBody } from '../../src/search/opensearch-versions.ts';
import { shoe } from '../support/opensearch-fixtures.ts';

const US = '\u001f';


describe('when the synonyms file is read', () => {
  it('then comments and blank lines are dropped and Solr rules are kept as written', () => {
    expect(synonymRules('# a comment\n\ntshirt, t-shirt, tee\n  sofa, couch  \nipod, i-pod => ipod\n')).toEqual(['tshirt, t-shirt, tee', 'sofa, couch', 'ipod, i-pod => ipod']);
  });

  it('then a line that is no rule is refused with its line number', () => {
    expect(() => synonymRules('sofa, couch\njust-one-word\n', 'synonyms.txt')).toThrow('synonyms.txt:2');
    expect(() => synonymRules('a, , b\n')).toThrow(/not a synonym rule/);
    expect(() => synonymRules('a => b => c\n')).toThrow(/not a synonym rule/);
  });

  it('then the bundled file parses and holds the catalogue synonyms', async () => {
    const rules = await readSynonymRules();
    expect(rules).toContain('tshirt, tee, t-shirt');
    expect(rules).toContain('sofa, couch');
    expect(rules.length).toBe(readFileSync(SYNONYMS_FILE, 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).length);
  });
});

describe('when the index is defined', () => {
  const definition = indexDefinition({ synonyms: ['sofa, couch'] });
  const analysis = definition.settings.analysis;

  it('then documents are folded and stemmed, and queries also get the synonyms, after the stemmer', () => {
    expect(analysis.analyzer.catalog_text.filter).toEqual(['lowercase', 'asciifolding', 'catalog_possessive', 'catalog_stemmer']);
    expect(analysis.analyzer.catalog_text_search.filter).toEqual(['lowercase', 'asciifolding', 'catalog_possessive', 'catalog_stemmer', 'catalog_synonyms']);
    expect(analysis.filter.catalog_synonyms).toEqual({ type: 'synonym_graph', synonyms: ['sofa, couch'] });
    expect(analysis.filter.catalog_stemmer).toEqual({ type: 'stemmer', language: 'english' });
  });

  it('then prefixes are edge n-grams at index time only, and spelling shingles of two and three words', () => {
    expect(analysis.analyzer.catalog_prefix.filter).toContain('catalog_edge_ngrams');
    expect(analysis.analyzer.catalog_prefix_search.filter).toEqual(['lowercase', 'asciifolding', 'catalog_prefix_truncate']);
    expect(analysis.filter.catalog_prefix_truncate.length).toBe(analysis.filter.catalog_edge_ngrams.max_gram);
    expect(analysis.filter.catalog_edge_ngrams).toMatchObject({ type: 'edge_ngram', min_gram: 1 });
    expect(analysis.filter.catalog_shingles).toEqual({ type: 'shingle', min_shingle_size: 2, max_shingle_size: 3 });
  });

  it('then unknown fields are refused and the text fields feed the all-words field', () => {
    const { properties } = definition.mappings;
    expect(definition.mappings.dynamic).toBe('strict');
    expect(properties.name.copy_to).toEqual(['searchText', 'spelling']);
    expect(properties.description.copy_to).toEqual(['searchText']);
    expect(properties.brand.properties.name.copy_to).toEqual(['searchText', 'spelling']);
    expect(properties.categories.properties.name.copy_to).toEqual(['searchText', 'spelling']);
    expect(properties.attributes.type).toBe('nested');
  });

  it('then every field a search, count, suggest or versions body names is mapped', () => {
    const request: SearchRequest = {
      q: 'nike shoe',
      filters: { attributes: [{ name: 'Color', values: ['Navy'] }], categoryPath: '3.17', brandId: 7, minPrice: 1, maxPrice: 9, inStock: true },
      sort: 'relevance',
      limit: 10,
      cursor: undefined,
      facets: [...FACETS],
    };
    const bodies = [
      ...(['relevance', 'price_asc', 'price_desc', 'newest', 'rating'] as const).map((sort) => searchBody({ ...request, sort }, { trackTotalHitsUpTo: 100 })),
      countBody('nike', request.filters, { trackTotalHitsUpTo: 100 }),
      suggestBody('nik', 8),
      versionsPageBody(1, 100, undefined),
    ];
    const named = new Set(bodies.flatMap((body) => fieldsNamed(body)));
    expect(named).toContain('attributes.value');
    expect(named).toContain('name.prefix');
    expect([...named].filter((field) => !isMapped(definition.mappings, field))).toEqual([]);
  });

  it('then a new index is named after the alias with a sortable UTC time', () => {
    expect(concreteIndexName('catalog-products', new Date('2026-11-30T07:05:09.123Z'))).toBe('catalog-products-20261130-070509123');
  });
});

describe('when a product is indexed', () => {
  it('then its facet keys carry the category path, slug and name, and attributes become name/value pairs', () => {
    const source = indexedSource({ productId: 41, version: 6, document: shoe });
    expect(source).toMatchObject({ id: 41, version: 6, removed: false, name: shoe.name, priceMin: 349_900, createdAt: shoe.createdAt });
    if (source.removed) throw new Error('expected a document');
    expect(source.brandKey).toBe(`nike${US}Nike`);
    expect(source.categoryKeys).toEqual([`3${US}footwear${US}Footwear`, `3.17${US}mens-footwear${US}Men's Footwear`, `3.17.42${US}sports-shoes${US}Sports Shoes`]);
    expect(source.categorySuggestKeys[1]).toBe(`men s footwear${US}mens-footwear${US}Men's Footwear`);
    expect(source.attributes).toEqual([
      { name: 'Color', value: 'Navy' },
      { name: 'Ideal For', value: 'Men' },
    ]);
  });

  it('then a removed or gone product is a tombstone holding its version', () => {
    expect(indexedSource({ productId: 41, version: 7, document: null })).toEqual({ id: 41, version: 7, removed: true });
    expect(indexedSource({ productId: 99, version: GONE_VERSION, document: null })).toEqual({ id: 99, version: GONE_VERSION, removed: true });
  });

  it('then names fold to lowercase words without accents or punctuation', () => {
    expect(foldForPrefix('  Café-Crème  ÉCLAIR ')).toBe('cafe creme eclair');
  });
});

/** The fields a request body names: `field` values, query keys, `fields` lists (boosts dropped) and sort keys. */
function fieldsNamed(node: unknown, parent?: string): string[] {
  if (Array.isArray(node)) return node.flatMap((item) => fieldsNamed(item, parent === 'fields' || parent === 'sort' || parent === '_source' ? parent : undefined));
  if (typeof node === 'string') return parent === 'fields' ? [node.replace(/\^.*$/, '')] : parent === '_source' ? [node] : [];
  if (node === null || typeof node !== 'object') return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'field' && typeof value === 'string') found.push(value);
    else if (key === 'path' && typeof value === 'string') found.push(value);
    else if (['term', 'terms', 'range', 'match', 'match_phrase', 'match_phrase_prefix'].includes(key) && value && typeof value === 'object') {
      // An aggregation names its field as `field`; a query names it as its key.
      found.push(...('field' in value ? [String(value.field)] : Object.keys(value)));
    } else if (parent === 'sort' && key !== '_score') found.push(key);
    else found.push(...fieldsNamed(value, key));
  }
  return found;
}

function isMapped(mappings: { properties: Record<string, unknown> }, field: string): boolean {
  let at: Record<string, unknown> | undefined = { properties: mappings.properties };
  for (const part of field.split('.')) {
    const node = at as { properties?: Record<string, unknown>; fields?: Record<string, unknown> } | undefined;
    at = (node?.properties?.[part] ?? node?.fields?.[part]) as Record<string, unknown> | undefined;
    if (at === undefined) return false;
  }
  return true;
}

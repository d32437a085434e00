// Reads a _search answer (hits, highlights, aggregations, the spelling suggestion) into the engine
// result of the search contract. The shapes are OpenSearch's documented response bodies.
import { MAX_ATTRIBUTE_FACETS, PRICE_BUCKETS, type EngineSearchResult, type Facets, type SearchHit, type SearchRequest } from '../catalog/search.ts';
import { summaryOfDocument, type ShownFields } from '../catalog/search-document.ts';
import { KEY_SEPARATOR } from './opensearch-index.ts';

interface Bucket {
  key: string | number;
  doc_count: number;
}

interface Terms {
  buckets?: Bucket[];
}

export interface SearchResponseBody {
  hits?: {
    total?: { value: number; relation: 'eq' | 'gte' } | number;
    hits?: {
      _id: string;
      _source?: HitSource;
      highlight?: { name?: string[]; description?: string[] };
      sort?: (string | number)[];
    }[];
  };
  aggregations?: Record<string, Record<string, unknown> & { doc_count?: number }>;
  suggest?: Record<string, { text: string; options: { text: string; collate_match?: boolean }[] }[]>;
}

type HitSource = ShownFields & { id: number };

export function parseSearchResponse(body: SearchResponseBody, request: SearchRequest): EngineSearchResult {
  const hits = body.hits?.hits ?? [];
  const page = hits.slice(0, request.limit);
  const last = page.at(-1);
  const more = hits.length > request.limit && last !== undefined;
  return {
    items: page.map((hit) => searchHit(hit._source!, hit.highlight)),
    total: totalOf(body.hits?.total),
    facets: parseFacets(body.aggregations ?? {}, request),
    didYouMean: didYouMeanOf(body, request.q),
    relaxed: null,
    next: more ? { offset: (request.cursor?.offset ?? 0) + page.length, after: last.sort ?? null } : null,
  };
}

function searchHit(source: HitSource, highlight: { name?: string[]; description?: string[] } | undefined): SearchHit {
  const marked: SearchHit['highlight'] = {};
  if (highlight?.name?.[0] !== undefined) marked.name = highlight.name[0];
  if (highlight?.description?.[0] !== undefined) marked.description = highlight.description[0];
  return { ...summaryOfDocument(Number(source.id), source), highlight: marked };
}

function totalOf(total: { value: number; relation: 'eq' | 'gte' } | number | undefined): EngineSearchResult['total'] {
  if (total === undefined) return { value: 0, estimate: false };
  if (typeof total === 'number') return { value: total, estimate: false };
  return { value: total.value, estimate: total.relation === 'gte' };
}

/** The phrase suggester's correction, when it differs from what was typed (case and spacing aside). */
export function didYouMeanOf(body: SearchResponseBody, q: string): string | null {
  const option = body.suggest?.spelling?.[0]?.options?.[0];
  if (option === undefined || option.collate_match === false) return null;
  const typed = q.toLowerCase().replace(/\s+/g, ' ').trim();
  return option.text.toLowerCase().trim() === typed ? null : option.text;
}

/** A sub-aggregation by path (`values`, `nested.names`), or undefined. */
function dig<T>(aggregation: unknown, ...path: string[]): T | undefined {
  let at = aggregation;
  for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
  return at as T | undefined;
}

export function parseFacets(aggregations: NonNullable<SearchResponseBody['aggregations']>, request: SearchRequest): Facets {
  const facets: Facets = {};
  const asked = new Set(request.facets);
  if (asked.has('category')) {
    facets.category = (dig<Terms>(aggregations.category, 'values')?.buckets ?? []).map((bucket) => {
      const [path = '', slug = '', name = ''] = String(bucket.key).split(KEY_SEPARATOR);
      return { id: Number(path.slice(path.lastIndexOf('.') + 1)), slug, name, count: bucket.doc_count };
    });
  }
  if (asked.has('brand')) {
    facets.brand = (dig<Terms>(aggregations.brand, 'values')?.buckets ?? []).map((bucket) => {
      const [slug = '', name = ''] = String(bucket.key).split(KEY_SEPARATOR);
      return { slug, name, count: bucket.doc_count };
    });
  }
  if (asked.has('price')) {
    // The range aggregation answers one bucket per range asked, empty ones too; matched by `from`
    // rather than position, whatever order they come in.
    const buckets = dig<{ buckets?: (Bucket & { from?: number })[] }>(aggregations.price, 'values')?.buckets ?? [];
    facets.price = PRICE_BUCKETS.map(([from, to]) => ({ from, to, count: buckets.find((bucket) => (bucket.from ?? 0) === from)?.doc_count ?? 0 }));
  }
  if (asked.has('attributes')) facets.attributes = attributeFacets(aggregations, request);
  return facets;
}

type AttributeFacet = NonNullable<Facets['attributes']>[number];

/**
 * The selected attributes (each counted over every filter but its own) and the most widely carried
 * others, most widely carried first; a selected attribute always stays, so the shopper sees what
 * they chose.
 */
function attributeFacets(aggregations: NonNullable<SearchResponseBody['aggregations']>, request: SearchRequest): AttributeFacet[] {
  const values = (terms: Terms | undefined) => (terms?.buckets ?? []).map((bucket) => ({ value: String(bucket.key), count: bucket.doc_count }));
  const selected = request.filters.attributes.map((attribute, index) => {
    const named = dig<{ doc_count?: number; values?: Terms }>(aggregations[`attribute_${index}`], 'nested', 'named');
    return { carried: named?.doc_count ?? 0, facet: { name: attribute.name, values: values(named?.values) } };
  });
  const others = (dig<{ buckets?: (Bucket & { values?: Terms })[] }>(aggregations.attributes, 'nested', 'names')?.buckets ?? []).map((bucket) => ({
    carried: bucket.doc_count,
    facet: { name: String(bucket.key), values: values(bucket.values) },
  }));
  const kept = [...selected, ...others.slice(0, Math.max(0, MAX_ATTRIBUTE_FACETS - selected.length))];
  return kept.sort((a, b) => b.carried - a.carried || (a.facet.name < b.facet.name ? -1 : 1)).map((entry) => entry.facet);
}

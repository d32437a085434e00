// The OpenSearch writer's _bulk: one index action per change carrying the product version as an
// external version, a tombstone for a removed product, and how the items of the answer count.
import { describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.ts';
import { GONE_VERSION } from '../../src/store/search-documents.ts';
import { bulkLines, countBulkResponse } from '../../src/search/opensearch-writer.ts';
import { bulkResponse, shoe, versionConflict } from '../support/opensearch-fixtures.ts';

describe('when changes are written', () => {
  it('then each is an index action with the external version, followed by the document', () => {
    const lines = bulkLines('catalog-products', [
      { productId: 41, version: 6, document: shoe },
      { productId: 42, version: 3, document: null },
      { productId: 43, version: GONE_VERSION, document: null },
    ]);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toEqual({ index: { _index: 'catalog-products', _id: '41', version: 6, version_type: 'external' } });
    expect(lines[1]).toMatchObject({ id: 41, version: 6, removed: false, name: shoe.name });
    expect(lines[2]).toEqual({ index: { _index: 'catalog-products', _id: '42', version: 3, version_type: 'external' } });
    expect(lines[3]).toEqual({ id: 42, version: 3, removed: true });
    expect(lines[4]).toEqual({ index: { _index: 'catalog-products', _id: '43', version: GONE_VERSION, version_type: 'external' } });
    // A repair (reconcile) rewrites a document held at the same version too, never a newer one.
    const repair = bulkLines('catalog-products', [{ productId: 41, version: 6, document: null }], { replaceSameVersion: true });
    expect(repair[0]).toEqual({ index: { _index: 'catalog-products', _id: '41', version: 6, version_type: 'external_gte' } });
  });
});

describe('when OpenSearch answers a _bulk', () => {
  it('then created and updated items are applied and version conflicts are stale', () => {
    const body = bulkResponse([
      { id: '41', status: 201 },
      { id: '42', status: 200 },
      { id: '43', status: 409, error: versionConflict },
    ]);
    expect(countBulkResponse(body, 3)).toEqual({ applied: 2, stale: 1 });
  });

  it('then any other failed item rejects the whole write, naming the product and the reason', () => {
    const body = bulkResponse([
      { id: '41', status: 201 },
      { id: '42', status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [priceMin]' } },
      { id: '43', status: 409, error: versionConflict },
    ]);
    expect(() => countBulkResponse(body, 3)).toThrow(/product 42: 400 mapper_parsing_exception failed to parse field \[priceMin\]/);
    let error: unknown;
    try {
      countBulkResponse(body, 3);
    } catch (caught) {
      error = caught;
    }
    expect(error).not.toBeInstanceOf(CatalogError);
  });

  it('then items refused for load (429) reject as the service being unavailable, which the indexer waits out', () => {
    const body = bulkResponse([{ id: '41', status: 429, error: { type: 'rejected_execution_exception', reason: 'rejected execution of coordinating operation' } }]);
    expect(() => countBulkResponse(body, 1)).toThrow(expect.objectContaining({ code: 'service-unavailable' }));
  });

  it('then an answer with fewer items than actions is refused', () => {
    expect(() => countBulkResponse(bulkResponse([{ id: '41', status: 201 }]), 2)).toThrow(/1 items for 2 actions/);
  });
});

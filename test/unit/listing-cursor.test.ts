import { describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.ts';
import { decodeCursor, encodeCursor } from '../../src/catalog/listing.ts';

describe('when a listing cursor comes back from a client', () => {
  it('then one this service issued decodes to the same position', () => {
    const position = { sortKey: '2016-03-25 22:59:23.123456+00', id: 42 };
    expect(decodeCursor(encodeCursor('newest', position), 'newest')).toEqual(position);
    expect(decodeCursor(encodeCursor('name', { sortKey: "Women's \"Top\" ©", id: 7 }), 'name')).toEqual({ sortKey: "Women's \"Top\" ©", id: 7 });
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['the wrong shape', Buffer.from('{"k":1}').toString('base64url')],
    ['a negative id', Buffer.from(JSON.stringify(['price_asc', '100', -1])).toString('base64url')],
    ['a price that is not a number', Buffer.from(JSON.stringify(['price_asc', '1 OR 1=1', 5])).toString('base64url')],
    ['another sort', encodeCursor('rating', { sortKey: '4.5', id: 3 })],
  ])('then %s is an invalid-cursor error', (_kind, cursor) => {
    expect(() => decodeCursor(cursor, 'price_asc')).toThrow(CatalogError);
    try {
      decodeCursor(cursor, 'price_asc');
    } catch (error) {
      expect((error as CatalogError).code).toBe('invalid-cursor');
      expect((error as CatalogError).status).toBe(400);
    }
  });
});

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
    // Ids start at 1 (bigserial); 0 names no row a page could have ended on.
    ['id zero', Buffer.from(JSON.stringify(['price_asc', '100', 0])).toString('base64url')],
    ['a fractional id', Buffer.from(JSON.stringify(['price_asc', '100', 1.5])).toString('base64url')],
    ['a price that is not a number', Buffer.from(JSON.stringify(['price_asc', '1 OR 1=1', 5])).toString('base64url')],
    ['another sort', encodeCursor('rating', { sortKey: '4.5', id: 3 })],
  ])('then %s is an invalid-cursor error', (_kind, cursor) => {
    expectInvalid(cursor, 'price_asc');
  });

  // Each of these passed the cursor's shape check and failed as a cast in PostgreSQL: a 500.
  it.each([
    ['a month that does not exist', 'newest', '2020-13-05 10:00:00+00'],
    ['a day the month does not have', 'newest', '2021-02-29 10:00:00+00'],
    ['a time past midnight', 'newest', '2020-01-01 24:00:00+00'],
    ['year zero', 'newest', '0000-01-01 00:00:00+00'],
    ['an offset no zone has', 'newest', '2020-01-01 10:00:00+99'],
    // PostgreSQL accepts offsets up to 15:59 and refuses +16 with a cast error.
    ['an offset one hour past the largest PostgreSQL accepts', 'newest', '2020-01-01 10:00:00+16'],
    ['a negative offset one hour past the largest', 'newest', '2020-01-01 10:00:00-16:00'],
    ['a name holding NUL', 'name', 'a\u0000b'],
  ] as const)('then %s is an invalid-cursor error', (_kind, sort, sortKey) => {
    expectInvalid(encodeCursor(sort, { sortKey, id: 1 }), sort);
  });

  it('then a leap day and a zone offset with minutes still decode', () => {
    for (const sortKey of ['2020-02-29 23:59:59.5+05:30', '1999-12-31 00:00:00-12', '2020-01-01 10:00:00+15:59', '2020-01-01 10:00:00-15']) {
      expect(decodeCursor(encodeCursor('newest', { sortKey, id: 1 }), 'newest').sortKey).toBe(sortKey);
    }
  });
});

function expectInvalid(cursor: string, sort: Parameters<typeof decodeCursor>[1]): void {
  expect(() => decodeCursor(cursor, sort)).toThrow(CatalogError);
  try {
    decodeCursor(cursor, sort);
  } catch (error) {
    expect((error as CatalogError).code).toBe('invalid-cursor');
    expect((error as CatalogError).status).toBe(400);
  }
}

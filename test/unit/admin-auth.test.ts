// Admin tokens: the bearer header read strictly, the presented token hashed and compared against
// every configured hash, the scope a method needs; and the If-Match versions a write is held to.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, findAdminToken, requiredScope } from '../../src/api/admin-auth.ts';
import { ifMatchVersions } from '../../src/api/routes/admin-products.ts';
import { loadConfig } from '../../src/config.ts';

const sha = (token: string) => createHash('sha256').update(token).digest('hex');

describe('when an Authorization header is read', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['Bearer abc.DEF-123_~+/=', 'abc.DEF-123_~+/='],
    ['bearer  tok', 'tok'],
    ['Basic dXNlcjpwYXNz', null],
    ['Bearer', null],
    ['Bearer two words', null],
    ['Bearer tok\u00e9n', null],
  ])('then %j gives the token %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('when a presented token is looked up', () => {
  const { tokens } = loadConfig({ ADMIN_TOKENS: `pim:${sha('secret-pim')}:read+write,dash:${sha('secret-dash')}:read` }).admin;

  it('then the token whose SHA-256 is configured is found, by its hash alone', () => {
    expect(findAdminToken(tokens, 'secret-pim')?.name).toBe('pim');
    expect(findAdminToken(tokens, 'secret-dash')?.name).toBe('dash');
    expect(findAdminToken(tokens, 'secret-dash')?.scopes).toEqual(new Set(['read']));
  });

  it('then an unknown token, a near miss or the hash itself finds nothing', () => {
    expect(findAdminToken(tokens, 'secret-pi')).toBeUndefined();
    expect(findAdminToken(tokens, 'pim')).toBeUndefined();
    expect(findAdminToken(tokens, sha('secret-pim'))).toBeUndefined();
    expect(findAdminToken([], 'secret-pim')).toBeUndefined();
  });

  it('then reads need read and everything else write', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(requiredScope)).toEqual(['read', 'read', 'write', 'write', 'write', 'write']);
  });
});

describe('when If-Match is read', () => {
  it.each([
    [undefined, undefined],
    ['*', undefined],
    ['"7"', [7]],
    ['"6", "7"', [6, 7]],
    ['W/"7"', []],
    ['7', []],
    ['"abc"', []],
  ])('then %j holds the write to %j', (header, versions) => {
    expect(ifMatchVersions(header)).toEqual(versions);
  });
});

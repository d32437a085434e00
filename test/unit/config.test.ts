import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('when the service reads its configuration', () => {
  it('then an empty environment gives defaults that run locally on the embedded database', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 3000, logLevel: 'info' });
    expect(config.database.url).toBeUndefined();
    expect(config.database.embedded).toEqual({ dir: '.data/postgres', port: 54329 });
  });

  it('then strings are converted to the typed values', () => {
    const config = loadConfig({ PORT: '8080', MIGRATE_ON_START: 'true', DATABASE_URL: 'postgres://u@db:5432/catalog', DATABASE_POOL_MAX: '40' });
    expect(config.port).toBe(8080);
    expect(config.database).toMatchObject({ migrateOnStart: true, url: 'postgres://u@db:5432/catalog', poolMax: 40 });
  });

  it('then every bad value stops start-up with a message naming its variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://db', LOG_LEVEL: 'loud', DATABASE_POOL_MAX: '0' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT="eighty"', 'DATABASE_URL="mysql://db"', 'LOG_LEVEL="loud"', 'DATABASE_POOL_MAX="0"']) expect(message).toContain(name);
  });

  it('then an empty string counts as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.url).toBeUndefined();
  });

  it('then the memory bounds have defaults, and a negative or zero one where it makes no sense is refused', () => {
    const { cache } = loadConfig({});
    expect(cache.near).toMatchObject({ maxBytes: 64 * 1024 * 1024, maxEntries: 16_384 });
    expect(cache).toMatchObject({ hotUrlsMaxBytes: 32 * 1024 * 1024, refreshMaxQueued: 1000 });
    expect(loadConfig({ CACHE_HOT_URLS_MAX_BYTES: '0', CACHE_NEAR_MAX_ENTRIES: '500', CACHE_REFRESH_MAX_QUEUED: '20' }).cache).toMatchObject({
      hotUrlsMaxBytes: 0,
      near: { maxEntries: 500 },
      refreshMaxQueued: 20,
    });
    expect(() => loadConfig({ CACHE_HOT_URLS_MAX_BYTES: '-1' })).toThrow(/CACHE_HOT_URLS_MAX_BYTES="-1"/);
    expect(() => loadConfig({ CACHE_NEAR_MAX_ENTRIES: '0' })).toThrow(/CACHE_NEAR_MAX_ENTRIES="0"/);
    expect(() => loadConfig({ CACHE_REFRESH_MAX_QUEUED: '0' })).toThrow(/CACHE_REFRESH_MAX_QUEUED="0"/);
  });
});

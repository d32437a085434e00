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
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('when the Redis settings are read', () => {
  it('then REDIS_SENTINELS gives the Sentinels, the primary name (mymaster by default) and the passwords', () => {
    expect(loadConfig({ REDIS_SENTINELS: 'sentinel-0:26379,10.0.0.7:26380', REDIS_PASSWORD: 'data', REDIS_SENTINEL_PASSWORD: 'watch' }).cache.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-0', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
      ],
      masterName: 'mymaster',
      password: 'data',
      sentinelPassword: 'watch',
    });
    expect(loadConfig({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'catalog' }).cache.redis).toMatchObject({ masterName: 'catalog', password: undefined });
  });

  it('then REDIS_URL alone is one Redis, and neither means no shared tier', () => {
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).cache.redis).toEqual({ kind: 'url', url: 'redis://cache:6379' });
    expect(loadConfig({}).cache.redis).toBeUndefined();
  });

  it('then REDIS_URL with REDIS_SENTINELS, or with a Sentinel password, is refused rather than one silently winning', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379', REDIS_SENTINELS: 'a:26379' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379', REDIS_SENTINELS: 'a:26379' })).toThrow(/REDIS_URL and REDIS_SENTINELS are both set/);
    expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'x' })).toThrow(/part of the URL/);
  });

  it('then a Sentinel list that is not host:port,... is refused naming the variable', () => {
    for (const bad of ['sentinel-0', 'a:26379,', 'a:26379;b:26379', 'a:99999']) {
      expect(() => loadConfig({ REDIS_SENTINELS: bad }), bad).toThrow(/REDIS_SENTINELS=/);
    }
  });
});

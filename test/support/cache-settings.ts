// Cache settings for tests, built the way production builds them: from environment variables
// through loadConfig, so a test gets the config's defaults and checks for whatever it leaves out.
import type { CacheConfig } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';

/**
 * config.cache for these variables (e.g. { CACHE_FRESH_TTL_MS: '100' }). The database timeouts
 * are set low only because the config requires the fill lock to outlast them: a test may then
 * pick a short CACHE_LOCK_TTL_MS. The cache itself never reads them.
 */
export function cacheSettings(env: Record<string, string> = {}): CacheConfig {
  return loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '50', DATABASE_CONNECT_TIMEOUT_MS: '50', ...env }).cache;
}

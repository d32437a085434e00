// Where the shared Redis is, from the REDIS_* settings config.ts has validated (it reads the
// environment; this only decides what the values mean together).

/** One URL, or the Sentinels that name the current primary (which moves on a failover). */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      masterName: string;
      password: string | undefined;
      sentinelPassword: string | undefined;
    };

export interface RedisTargetSettings {
  url: string | undefined;
  /** host:port,host:port,... */
  sentinels: string | undefined;
  sentinelMaster: string;
  password: string | undefined;
  sentinelPassword: string | undefined;
}

/**
 * The target, undefined when Redis is not configured, or a problem to refuse the start with.
 * REDIS_URL and REDIS_SENTINELS together are refused: a pod told two places would cache in one and
 * invalidate in the other.
 */
export function resolveRedisTarget(settings: RedisTargetSettings): { target: RedisTarget | undefined } | { problem: string } {
  const { url, sentinels, password, sentinelPassword } = settings;
  if (url && sentinels) return { problem: 'REDIS_URL and REDIS_SENTINELS are both set: set one' };
  if (url) {
    if (password || sentinelPassword) return { problem: 'REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD go with REDIS_SENTINELS; with REDIS_URL the password is part of the URL' };
    return { target: { kind: 'url', url } };
  }
  if (!sentinels) return { target: undefined };
  const addresses = sentinels.split(',').map((address) => {
    const at = address.lastIndexOf(':');
    return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
  });
  if (addresses.some(({ port }) => port < 1 || port > 65535)) return { problem: `REDIS_SENTINELS=${JSON.stringify(sentinels)}: a port is out of range` };
  return { target: { kind: 'sentinel', sentinels: addresses, masterName: settings.sentinelMaster, password, sentinelPassword } };
}

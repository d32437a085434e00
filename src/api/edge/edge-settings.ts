// The api's HTTP edge settings (src/config.ts reads and validates them; docs/operations.md: Load
// shedding and rate limits).

export interface HttpEdgeConfig {
  trustProxyHops: number;
  /** '*', a list of origins, or undefined: no CORS headers. */
  corsOrigins: '*' | string[] | undefined;
  bodyLimitBytes: number;
  maxUrlLength: number;
}

/** Bounds past which the api sheds load (503 with Retry-After); 0 turns one off. */
export interface PressureConfig {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
  retryAfterS: number;
}

/** Requests per window per client address (public) and per token (/admin); 0 turns a limit off. */
export interface RateLimitConfig {
  max: number;
  windowMs: number;
  adminMax: number;
  /** Addresses and CIDRs never limited. */
  allow: string[];
}

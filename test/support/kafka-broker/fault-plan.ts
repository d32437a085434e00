import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';

export type FailableApi = 'produce' | 'fetch';

/** Faults a test asked for; consulted by the request handlers. */
export class FaultPlan {
  responseDelayMs = 0;
  private readonly failures = new Map<FailableApi, { remaining: number; errorCode: ErrorCodeValue }>();

  failNext(api: FailableApi, count: number, errorCode: ErrorCodeValue = ErrorCode.notLeaderOrFollower): void {
    this.failures.set(api, { remaining: count, errorCode });
  }

  /** The error code to fail this request with, if a failure is still owed. */
  takeFailure(api: FailableApi): ErrorCodeValue | null {
    const failure = this.failures.get(api);
    if (!failure || failure.remaining <= 0) return null;
    failure.remaining -= 1;
    return failure.errorCode;
  }
}

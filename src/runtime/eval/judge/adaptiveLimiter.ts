// Requests in flight, adapted to the server: the configured concurrency is a ceiling; each 429 lowers the limit
// to one below what was in flight (at most once per `cooldownMs`, so one burst of 429s counts once), and each
// success raises it by 1/limit (about +1 per round of replies), back up to the ceiling. With a server that allows
// 20 and a ceiling of 32, the limit settles near 20 within a few round trips instead of retrying forever.
import { CancelledError } from '../../errors';

export class AdaptiveLimiter {
  private limit: number;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private lastDecrease = 0;

  constructor(
    private readonly ceiling: number,
    private readonly cooldownMs = 100,
  ) {
    this.limit = ceiling;
  }

  get current(): number {
    return Math.floor(this.limit);
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    while (this.inFlight >= Math.max(1, Math.floor(this.limit))) {
      if (signal?.aborted) throw new CancelledError();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.inFlight++;
  }

  release(): void {
    this.inFlight--;
    this.wake();
  }

  onSuccess(): void {
    this.limit = Math.min(this.ceiling, this.limit + 1 / Math.max(1, Math.floor(this.limit)));
    this.wake();
  }

  onRateLimited(now = Date.now()): void {
    if (now - this.lastDecrease < this.cooldownMs) return;
    this.lastDecrease = now;
    this.limit = Math.max(1, Math.min(this.limit, this.inFlight) - 1);
  }

  private wake(): void {
    // Wake everyone; those still over the limit wait again. Waiters are few (at most the worker count).
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

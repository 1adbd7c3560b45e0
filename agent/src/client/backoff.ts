// Jittered exponential backoff for reconnects, so a restarted coordinator is not hit by every agent at once.

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Random source in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** "Full jitter": uniform in [0, min(max, initial * 2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(this.options.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}

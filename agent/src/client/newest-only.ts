// Messages that need async preparation before they are handed on, handed on newest-only; failed preparations retried.

export interface PrepareRetry<T> {
  /** Delay before the `attempt`-th retry (1-based). */
  readonly delayMs: (attempt: number) => number;
  readonly setTimer: (ms: number, fn: () => void) => void;
  /** The newest message could not be prepared; it is tried again in `retryInMs` unless a newer one arrives. */
  readonly onFailed: (message: T, err: unknown, retryInMs: number) => void;
}

/**
 * Returns a handler that prepares each message (e.g. fetches a bundle's secrets) and then hands it on, unless a newer
 * message arrived meanwhile. Preparations run concurrently and may finish in any order; without this, an older
 * desired bundle whose preparation finished last overrode a newer one, and the node rested on a stale bundle.
 * A message whose preparation fails is never handed on (k3s without its token would fail, and the rollback that
 * followed marked a good bundle bad): with `retry` it is prepared again later, while it is still the newest.
 */
export function newestOnly<T>(prepare: (message: T) => Promise<void>, handOn: (message: T) => void, retry?: PrepareRetry<T>): (message: T) => void {
  let received = 0;
  const attempt = (message: T, seq: number, n: number): void => {
    prepare(message).then(
      () => {
        if (seq === received) handOn(message);
      },
      (err: unknown) => {
        if (seq !== received || !retry) return;
        const wait = retry.delayMs(n);
        retry.onFailed(message, err, wait);
        retry.setTimer(wait, () => {
          if (seq === received) attempt(message, seq, n + 1);
        });
      },
    );
  };
  return (message) => attempt(message, ++received, 1);
}

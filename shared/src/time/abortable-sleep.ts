// A sleep that an AbortSignal cuts short. The listener it adds goes away when the sleep ends either way: a loop that
// sleeps on one long-lived signal (a health poll, a unit-state poll) would otherwise pile one listener per round on it.

/** Resolves after `ms` (at once for 0 or less); rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return afterTimer((fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  }, signal);
}

/**
 * Resolves when the timer that `arm` sets fires; `arm` returns how to cancel it. On abort the timer is cancelled and the
 * promise rejects with the signal's reason. For injected clocks, whose timers are not setTimeout's.
 */
export function afterTimer(arm: (fire: () => void) => () => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let cancel = (): void => undefined;
    const onAbort = (): void => {
      cancel();
      reject(signal!.reason);
    };
    // Listening first: a timer that fires at once (a fake clock) then still removes the listener.
    signal?.addEventListener("abort", onAbort, { once: true });
    cancel = arm(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/** Settles as `work` does, or rejects with the signal's reason when it aborts first (`work` itself runs on). */
export function unlessAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener("abort", onAbort), reject(err)),
    );
  });
}

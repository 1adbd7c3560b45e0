/**
 * Waits until `probe` returns a value, bounded in time. Polls at once and then ever less often (25 ms growing to
 * 200 ms): a quick condition is seen quickly, while a long wait (a rollout through simulated reboots) does not spend
 * a core on status calls that a loaded machine needs for the processes being waited on.
 */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let pause = 25; ; pause = Math.min(200, Math.round(pause * 1.5))) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

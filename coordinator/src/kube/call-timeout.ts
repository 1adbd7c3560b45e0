// A bound on each Kubernetes call: client-node sets no timeout, so a black-holed apiserver connection (the k3s server
// behind the kubeconfig's endpoint rebooting) would hang a call, and whatever waits on it, for good. No client-node here.
import { NkError } from "../../../shared/src/errors/index.js";
import { unlessAborted } from "../../../shared/src/time/index.js";

/** How long one Kubernetes call may go unanswered. */
export const KUBE_CALL_TIMEOUT_MS = 10_000;

export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${ms}ms` : `${Number((ms / 1_000).toFixed(1))}s`;
}

/**
 * Runs `call` with a signal that aborts after `timeoutMs`, or with `signal` (a leadership loss, a drain's end), and
 * gives up then even if the call ignored its signal. A timeout throws UNAVAILABLE naming `what` and the time waited;
 * an abort by `signal` rejects with its reason.
 */
export async function boundedCall<T>(what: string, timeoutMs: number, call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const bound = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  try {
    return await unlessAborted(call(bound), bound);
  } catch (err) {
    if (timeout.aborted && signal?.aborted !== true) throw new NkError("UNAVAILABLE", `Kubernetes API: ${what}: no answer within ${formatDuration(timeoutMs)}`);
    throw err;
  }
}

/**
 * Throws NOT_LEADER, sending nothing, once `mayAct` says no: a leader whose lease clock ran out (a paused process) must
 * not write to Kubernetes, even before its loss is announced to the abort signals.
 */
export function assertMayAct(what: string, mayAct: (() => boolean) | undefined): void {
  if (mayAct && !mayAct()) throw new NkError("NOT_LEADER", `${what}: not sent, this coordinator may no longer act`);
}

// Streams only the leader can serve (cluster check requests, lease updates) end when it stops leading: left open they
// go silent, and the agent keeps waiting on a coordinator that will never write to them again.
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { toServiceError } from "./error-status.js";

export type LeadershipListen = (listener: (leader: boolean) => void) => () => void;

/**
 * Ends `call` with NOT_LEADER (gRPC UNAVAILABLE, so the agent moves to its next coordinator) once leadership is lost,
 * or at once if it was lost before this was called: an AcquireLease stream awaits the lease manager first, and a
 * change of leader during that wait fired no listener yet (the agent then waited for good on a coordinator that
 * would never write again, while the new leader granted its request: multi-coordinator test under load). Returns
 * the stream's cleanup, which runs `done` exactly once however the stream ends.
 */
export function endWhenDeposed(
  onLeadershipChange: LeadershipListen | undefined,
  isLeader: () => boolean,
  call: { emit(event: "error", err: unknown): boolean },
  rpc: string,
  message: string,
  log: Logger,
  done: () => void,
): () => void {
  let closed = false;
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe?.();
    done();
  };
  const deposed = (): void => {
    cleanup();
    call.emit("error", toServiceError(new NkError("NOT_LEADER", message), log, { rpc }));
  };
  const unsubscribe = onLeadershipChange?.((leader) => {
    if (!leader && !closed) deposed();
  });
  if (onLeadershipChange && !isLeader()) deposed();
  return cleanup;
}

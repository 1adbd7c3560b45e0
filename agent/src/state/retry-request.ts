// An operator's retry, asked on the node (`nk-agent retry`): a file in the state directory that the running agent takes.
import { readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { NkError, errorMessage } from "../../../shared/src/errors/index.js";
import { fsReason, writeFileAtomic } from "../../../shared/src/fs/index.js";
import { isResting, isStuck, isStuckWithoutLease, type AgentState } from "../apply/index.js";

export const RETRY_REQUEST_FILE = "retry-request.json";

export interface RetryRequest {
  readonly atMs: number;
  /** A bundle to take out of the bad history (or whose failed builds to forget); none: the stuck rollback, or the desired bundle again. */
  readonly sha256?: string;
}

export function retryRequestPath(stateDir: string): string {
  return join(stateDir, RETRY_REQUEST_FILE);
}

/** Root-only like the state file: whoever may write it steers the node's rollbacks. */
export async function writeRetryRequest(stateDir: string, request: RetryRequest): Promise<void> {
  await writeFileAtomic(retryRequestPath(stateDir), `${JSON.stringify(request)}\n`, 0o600);
}

/**
 * Takes the request (null when there is none): moved to a private name first, so that a request written meanwhile
 * stays for the next look instead of being removed unread. A file that is not a request is removed too, and said:
 * left there it would be read again at every look.
 */
export async function takeRetryRequest(stateDir: string): Promise<RetryRequest | null> {
  const path = retryRequestPath(stateDir);
  const taken = `${path}.taken`;
  try {
    await rename(path, taken);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new NkError("STATE_CORRUPT", `cannot take ${path}: ${fsReason(err)}`, { cause: err });
  }
  try {
    return parseRetryRequest(await readFile(taken, "utf8"), path);
  } finally {
    await unlink(taken).catch(() => undefined);
  }
}

function parseRetryRequest(text: string, path: string): RetryRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NkError("STATE_CORRUPT", `${path} is not JSON (${errorMessage(err)}); write it with nk-agent retry`);
  }
  const o = json as Record<string, unknown> | null;
  if (typeof o !== "object" || o === null || typeof o.atMs !== "number" || (o.sha256 !== undefined && (typeof o.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.sha256)))) {
    throw new NkError("STATE_CORRUPT", `${path} is not a retry request ({"atMs": <ms>, "sha256"?: <64 hex digits>}); write it with nk-agent retry`);
  }
  return { atMs: o.atMs, ...(typeof o.sha256 === "string" ? { sha256: o.sha256 } : {}) };
}

/** Bundles a retry can name: those in the bad history and the one whose builds failed. */
function retryable(state: AgentState): Array<{ sha256: string; why: string }> {
  const out = state.bad.map((b) => ({ sha256: b.sha256, why: `rolled back (${b.reason})` }));
  if (state.failedBuild && !out.some((b) => b.sha256 === state.failedBuild?.sha256)) {
    out.push({ sha256: state.failedBuild.sha256, why: `build failed ${state.failedBuild.attempts} time(s)` });
  }
  return out;
}

/** What `nk-agent retry` asks for, judged from the node's state file: the full sha256 of a named bundle, and what will happen. */
export function planRetry(state: AgentState, bundle: string | undefined): { sha256?: string; effect: string } {
  const known = retryable(state);
  if (bundle === undefined) {
    if (isStuckWithoutLease(state)) {
      throw new NkError("INVALID_ARGUMENT", "the stuck apply's lease is gone (released or expired), and a rollback that reboots or restarts never runs without one: push a bundle that fixes the node (a revert to its last good bundle is booted and verified under a new lease)");
    }
    if (isStuck(state)) return { effect: `runs the rollback to ${state.target?.rollbackTo ?? "the previous generation"} again${state.lease ? " (the lease stays held until it is verified)" : ""}` };
    if (isResting(state.phase)) {
      const hint = known.length > 0 ? `; to try a refused bundle again, name it: --bundle ${known.map((b) => b.sha256.slice(0, 12)).join(" or ")}` : "";
      return { effect: `asks for the desired bundle again${hint}` };
    }
    throw new NkError("INVALID_ARGUMENT", `the agent is applying a bundle (phase ${state.phase}): nothing to retry now`);
  }
  const wanted = bundle.toLowerCase();
  if (!/^[0-9a-f]{6,64}$/.test(wanted)) throw new NkError("INVALID_ARGUMENT", `--bundle ${bundle}: expected a bundle's sha256 or a prefix of at least 6 hex digits (nkctl nodes shows them)`);
  const matches = known.filter((b) => b.sha256.startsWith(wanted));
  const list = known.length === 0 ? "none" : known.map((b) => `${b.sha256.slice(0, 12)} (${b.why})`).join(", ");
  if (matches.length === 0) throw new NkError("INVALID_ARGUMENT", `--bundle ${bundle}: no refused bundle starts with it; this node's refused bundles: ${list}`);
  if (matches.length > 1) throw new NkError("INVALID_ARGUMENT", `--bundle ${bundle}: names more than one refused bundle (${list}); give more digits`);
  const match = matches[0]!;
  const then = !isStuck(state) ? "then takes the desired bundle again, and applies it if that is the one" : isStuckWithoutLease(state) ? "and leaves the stuck node to a pushed fix (its lease is gone)" : "then runs the stuck rollback again";
  return { sha256: match.sha256, effect: `forgets that ${match.sha256.slice(0, 12)} ${match.why}, ${then}` };
}

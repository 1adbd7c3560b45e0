// Runs cluster checks the coordinator asks this node for, but only commands its own bundle's nk/checks.json lists.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { WatchCheckRequestsResponse } from "../../../shared/src/proto/gen/nk/v1/agent.js";
import type { System } from "../system/index.js";

export interface AllowedCheck {
  readonly name: string;
  readonly command: readonly string[];
  readonly expect: string;
}

/** Reads the `cluster` list of a bundle's nk/checks.json; anything malformed allows nothing. */
export function allowedClusterChecks(checksJson: string | undefined): AllowedCheck[] {
  if (!checksJson) return [];
  try {
    const parsed = JSON.parse(checksJson) as { cluster?: Array<{ name: string; command: string[]; expect: string }> };
    return (parsed.cluster ?? []).filter((c) => typeof c.name === "string" && Array.isArray(c.command) && c.command.every((w) => typeof w === "string"));
  } catch {
    return [];
  }
}

export interface CheckOutcomeMessage {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly observedAtMs: number;
}

export async function executeCheck(request: WatchCheckRequestsResponse, allowed: readonly AllowedCheck[], system: System, now: () => number, log: Logger): Promise<CheckOutcomeMessage> {
  const match = allowed.find((c) => c.name === request.checkName && c.command.length === request.command.length && c.command.every((w, i) => w === request.command[i]));
  if (!match) {
    log.warn({ check: request.checkName }, "refused a check that this node's bundle does not declare");
    return { name: request.checkName, ok: false, message: `refused: "${request.checkName}" with this command is not declared in this node's nk/checks.json`, observedAtMs: now() };
  }
  try {
    const r = await system.runCheck(match.command, request.timeoutMs || 30_000);
    const ok = r.exitCode === 0 && (match.expect === "" || r.stdout.includes(match.expect));
    const out = r.stdout.trim().slice(0, 500);
    return { name: match.name, ok, message: ok ? out || "ok" : r.exitCode !== 0 ? `exited with ${r.exitCode}: ${out}` : `expected ${JSON.stringify(match.expect)}, got: ${out}`, observedAtMs: now() };
  } catch (err) {
    return { name: match.name, ok: false, message: `could not run: ${errorMessage(err)}`, observedAtMs: now() };
  }
}

// The agent's side of the self-update guard's file contract (see nixos-module/agent.nix):
// alive.json says "this agent package came up and reached a coordinator"; rolled-back.json is the guard's verdict.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";

export interface GuardRollback {
  readonly from: string;
  readonly to: string;
  readonly package: string;
  readonly at: number;
  readonly reason: string;
}

/** Written once per process start after the first successful Hello; nothing without NK_AGENT_PACKAGE. */
export async function writeAlive(stateDir: string, agentPackage: string | undefined, version: string, now: Date): Promise<boolean> {
  if (!agentPackage) return false;
  await writeFileAtomic(join(stateDir, "alive.json"), `${JSON.stringify({ package: agentPackage, version, pid: process.pid, at: now.toISOString() })}\n`, 0o600);
  return true;
}

const noteOf = (stateDir: string): string => join(stateDir, "guard", "rolled-back.json");

/**
 * Reads the guard's note of a rollback; null when there is none. Not removed here: only once the agent has saved what
 * it made of it (clearGuardRollback), so an agent stopped in between reads it again (a second reading changes nothing).
 */
export async function readGuardRollback(stateDir: string): Promise<GuardRollback | null> {
  let text: string;
  try {
    text = await readFile(noteOf(stateDir), "utf8");
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Partial<GuardRollback>;
    return { from: String(v.from ?? ""), to: String(v.to ?? ""), package: String(v.package ?? ""), at: Number(v.at ?? 0), reason: String(v.reason ?? "the new agent did not come up in time") };
  } catch {
    return { from: "", to: "", package: "", at: 0, reason: `unreadable guard note: ${text.slice(0, 200)}` };
  }
}

export async function clearGuardRollback(stateDir: string): Promise<void> {
  await rm(noteOf(stateDir), { force: true });
}

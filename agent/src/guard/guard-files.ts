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

/** Reads and removes the guard's note of a rollback; null when there is none (or it is unreadable). */
export async function takeGuardRollback(stateDir: string): Promise<GuardRollback | null> {
  const path = join(stateDir, "guard", "rolled-back.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  await rm(path, { force: true });
  try {
    const v = JSON.parse(text) as Partial<GuardRollback>;
    return { from: String(v.from ?? ""), to: String(v.to ?? ""), package: String(v.package ?? ""), at: Number(v.at ?? 0), reason: String(v.reason ?? "the new agent did not come up in time") };
  } catch {
    return { from: "", to: "", package: "", at: 0, reason: `unreadable guard note: ${text.slice(0, 200)}` };
  }
}

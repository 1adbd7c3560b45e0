// Decides how disruptive activating a built system is: harmless switch, service restart or reboot.
import type { LeaseKind, RebootPolicy } from "./agent-state.js";

export interface DisruptionInput {
  readonly rebootNeeded: boolean;
  readonly restartsUnits: readonly string[];
  readonly policy: RebootPolicy;
  readonly disruptiveUnits: readonly string[];
}

export interface DisruptionDecision {
  /** null: switch at once without a lease. */
  readonly lease: LeaseKind | null;
  /** Switched without the reboot the kernel change needs (policy "never"). */
  readonly rebootPending: boolean;
  readonly reason: string;
}

/** "k3s" and "k3s.service" name the same unit. */
function unitName(name: string): string {
  return name.includes(".") ? name : `${name}.service`;
}

export function decideDisruption(input: DisruptionInput): DisruptionDecision {
  if (input.policy === "always") return { lease: "reboot", rebootPending: false, reason: "reboot policy is always" };
  if (input.rebootNeeded && input.policy === "auto") {
    return { lease: "reboot", rebootPending: false, reason: "kernel, initrd or kernel modules differ from the booted system" };
  }
  const disruptive = new Set(input.disruptiveUnits.map(unitName));
  const hit = [...new Set(input.restartsUnits.map(unitName))].filter((u) => disruptive.has(u)).sort();
  const rebootPending = input.rebootNeeded;
  const pendingNote = rebootPending ? "; reboot pending (policy never)" : "";
  if (hit.length > 0) {
    return { lease: "service-restart", rebootPending, reason: `switch restarts ${hit.join(", ")}${pendingNote}` };
  }
  return { lease: null, rebootPending, reason: `harmless switch${pendingNote}` };
}

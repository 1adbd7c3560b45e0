// Names what activating a preview build would do to the node: no-op, switch, restart or reboot, and why.
import { describeChange, type BootChange, type PreviewOutcomeName } from "../../../shared/src/wire/index.js";
import { decideDisruption } from "../apply/disruption.js";
import type { RebootPolicy } from "../apply/agent-state.js";

export { describeChange, storeName } from "../../../shared/src/wire/index.js";

export interface ClassifyInput {
  readonly currentSystem: string;
  readonly builtSystem: string;
  readonly changes: readonly BootChange[];
  /** Units dry-activate says the switch would restart or stop. */
  readonly restartsUnits: readonly string[];
  readonly policy: RebootPolicy;
  readonly disruptiveUnits: readonly string[];
}

export interface Classification {
  readonly outcome: Extract<PreviewOutcomeName, "no-op" | "switch" | "restart" | "reboot">;
  readonly reason: string;
  readonly units: readonly string[];
  readonly changes: readonly BootChange[];
}

export function classifyPreview(input: ClassifyInput): Classification {
  const units = [...new Set(input.restartsUnits)].sort();
  const changes = [...input.changes];
  if (input.builtSystem === input.currentSystem) return { outcome: "no-op", reason: "the built system is the one running", units: [], changes: [] };
  const d = decideDisruption({ rebootNeeded: changes.length > 0, restartsUnits: units, policy: input.policy, disruptiveUnits: input.disruptiveUnits });
  if (d.lease === "reboot") {
    const why = changes.length > 0 ? changes.map(describeChange).join("; ") : d.reason;
    return { outcome: "reboot", reason: input.policy === "always" && changes.length === 0 ? why : `reboot: ${why}`, units, changes };
  }
  const pending = d.rebootPending ? `; reboot pending (policy never): ${changes.map(describeChange).join("; ")}` : "";
  if (d.lease === "service-restart") return { outcome: "restart", reason: `${d.reason.split(";")[0]}${pending}`, units, changes };
  return { outcome: "switch", reason: `${units.length > 0 ? `switch restarts ${units.join(", ")}` : "switch restarts no units"}${pending}`, units, changes };
}

// deadline-passed: what each phase does when its deadline (activation, health, reboot, bless) passes.
import type { AgentState } from "./agent-state.js";
import type { EventOf } from "./agent-event.js";
import type { Effect } from "./effect.js";
import type { MachineConfig } from "./machine-config.js";
import { activationTimedOut, activationTimeout, beginRollback, rebootAgain, retryRollback, stopActivation, stuck, unchanged, type Result } from "./steps.js";

export function onDeadline(s: AgentState, e: EventOf<"deadline-passed">, cfg: MachineConfig): Result {
  if (s.deadlineAt === null || e.now < s.deadlineAt) return unchanged(s);
  const abort: Effect[] = [{ type: "abort-pending" }];
  const why = `health deadline passed${e.detail ? `: ${e.detail}` : ""}`;
  const t = s.target;
  switch (s.phase) {
    case "activating":
      return activationTimeout(s, e.now, cfg);
    case "rolling-back":
      if (!t?.rollbackTo) return stuck(s, "rolling back without a previous generation", abort);
      return retryRollback(s, e.now, cfg, `rollback activation ${activationTimedOut(t)}`, stopActivation(t.rollbackTo));
    case "verifying":
      return beginRollback(s, e.now, cfg, why, { markBad: true, allowReboot: true }, abort);
    case "rollback-verifying":
      return stuck(s, `unhealthy after rollback: ${why}`, abort);
    case "blessing":
      return beginRollback(s, e.now, cfg, `making ${t?.systemPath ?? "the target"} the boot default did not finish in time`, { markBad: true, allowReboot: true }, abort);
    case "rebooting":
      return rebootAgain(s, e.now, cfg, "the reboot did not happen");
    case "rollback-rebooting":
      return retryRollback(s, e.now, cfg, "the rollback reboot did not happen");
    default:
      return { state: { ...s, deadlineAt: null }, effects: [] };
  }
}

// The node's health as reported on every heartbeat: k3s active (where the system has it) and the applied bundle's node checks.
import type { CheckResult } from "../../../shared/src/proto/gen/nk/v1/common.js";
import type { NodeCheckSpec } from "../apply/index.js";
import type { System } from "../system/index.js";
import type { NodeHealthNow } from "../client/index.js";

export interface NodeHealthNowDeps {
  readonly system: System;
  /** Checks of the bundle that is applied now (empty before the first apply). */
  readonly checks: () => readonly NodeCheckSpec[];
  readonly unit: string;
  /** Whether a system has the unit (a store path never changes: main.ts remembers it per path). */
  readonly hasUnit: (systemPath: string) => Promise<boolean>;
  readonly now: () => number;
}

export async function nodeHealthNow(deps: NodeHealthNowDeps): Promise<NodeHealthNow> {
  const results: CheckResult[] = [];
  // A host without k3s (role none) runs a system without the unit: no result for it rather than a failing one.
  if (await deps.hasUnit(await deps.system.currentSystem())) {
    const active = await deps.system.unitActive(deps.unit);
    results.push({ name: deps.unit, ok: active, message: active ? "active" : `${deps.unit} is not active`, observedAtMs: deps.now() });
  }
  for (const check of deps.checks()) {
    const r = await deps.system.runCheck(check.command, check.timeoutMs);
    const ok = r.exitCode === 0 && (check.expect === "" || r.stdout.includes(check.expect));
    const message = ok ? "ok" : r.exitCode !== 0 ? `exited with ${r.exitCode}: ${r.stdout.trim().slice(0, 200)}` : `did not print ${JSON.stringify(check.expect)}: ${r.stdout.trim().slice(0, 200)}`;
    results.push({ name: check.name, ok, message, observedAtMs: deps.now() });
  }
  return { healthy: results.every((c) => c.ok), checks: results };
}

// The node-local part of health: the expected system runs, k3s is active (where it has k3s), the node checks pass.
import type { System } from "../system/index.js";
import type { HealthProbe } from "./runner-ports.js";

/** The agent composes this with cluster-side checks (node Ready, coordinator reachable). */
export function systemHealthProbe(system: System, unit = "k3s.service"): HealthProbe {
  return {
    async probe(systemPath, checks, signal) {
      const current = await system.currentSystem();
      if (current !== systemPath) return { healthy: false, reason: `running ${current}, expected ${systemPath}` };
      // A system without the unit (a host without k3s) has nothing to check there.
      if ((await system.systemHasUnit(systemPath, unit)) && !(await system.unitActive(unit))) return { healthy: false, reason: `${unit} is not active` };
      for (const check of checks) {
        const r = await system.runCheck(check.command, check.timeoutMs, signal);
        if (r.exitCode !== 0) return { healthy: false, reason: `check ${check.name} exited with ${r.exitCode}` };
        if (check.expect !== "" && !r.stdout.includes(check.expect)) return { healthy: false, reason: `check ${check.name} did not print ${JSON.stringify(check.expect)}` };
      }
      return { healthy: true, reason: "" };
    },
  };
}

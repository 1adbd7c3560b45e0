// Health after activation includes "the coordinator is reachable": a node cut off from it must not confirm.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { HealthProbe } from "./runner-ports.js";

/** Local health first (cheap, and its reason is the more useful one); then one round trip to the coordinator. */
export function withCoordinatorReachable(local: HealthProbe, reach: (systemPath: string) => Promise<void>): HealthProbe {
  return {
    async probe(systemPath, checks, signal) {
      const result = await local.probe(systemPath, checks, signal);
      if (!result.healthy) return result;
      try {
        await reach(systemPath);
        return result;
      } catch (err) {
        return { healthy: false, reason: `coordinator unreachable: ${errorMessage(err)}` };
      }
    },
  };
}

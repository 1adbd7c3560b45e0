// Guards a state dir against a second coordinator: two writers would grant leases independently. Not a consensus
// mechanism: HA uses the etcd store.
import { join } from "node:path";
import { takePidLock, type PidLock } from "../../../shared/src/process/index.js";

export const LOCK_FILE = "coordinator.lock";

/** The state dir's pid lock (shared/src/process: stale locks of dead pids taken over, live or remote holders refused). */
export function lockStateDir(dir: string): Promise<PidLock> {
  return takePidLock(join(dir, LOCK_FILE), { who: "coordinator", doing: `using the state dir ${dir}`, wait: "stop it first", busy: "UNAVAILABLE" });
}

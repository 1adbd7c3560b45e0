// How a simulated machine is opened: its folder, node, time scale, LAN segment and the hooks tests replace.
import type { CommandRunner } from "./command-runner.js";
import type { SimDurations } from "./sim-timing.js";

export interface SimSystemOptions {
  readonly dir: string;
  readonly node: string;
  /** Multiplies every simulated duration; 0 makes them instant. */
  readonly timeScale?: number;
  readonly durations?: Partial<SimDurations>;
  /** Ends the agent process at a reboot; defaults to process.exit. */
  readonly exitProcess?: (code: number) => never;
  /** Runs node checks (real programs on the host); defaults to ProcessRunner. */
  readonly runner?: CommandRunner;
  /** How often a hang fault is looked at again, in real ms. */
  readonly pollMs?: number;
  /**
   * The simulated LAN segment: a directory where every machine on it links its own directory under its node name,
   * so the VRRP election (who holds the API VIP) can be seen from each of them. Without it a machine is alone.
   */
  readonly lanDir?: string;
}

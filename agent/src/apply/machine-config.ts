// Tunables of the apply state machine; pure data, defaults suit a homelab.
export interface MachineConfig {
  /** Bundles are written to `<bundleRoot>/<sha256>`. */
  readonly bundleRoot: string;
  /** Units whose restart (or stop) during a switch disrupts the node's workloads. */
  readonly disruptiveUnits: readonly string[];
  /** Used when the desired bundle does not set a health deadline. */
  readonly defaultHealthDeadlineMs: number;
  /** Used when the desired bundle does not set an activation timeout. */
  readonly defaultActivationTimeoutMs: number;
  /** If the agent is still running this long after asking for a reboot, the reboot did not happen. */
  readonly rebootDeadlineMs: number;
  readonly maxRebootAttempts: number;
  readonly maxRollbackAttempts: number;
  /** Builds of one sha256 that may fail in a row before it is left alone. */
  readonly maxBuildAttempts: number;
  /** Oldest entries of the bad history are dropped beyond this. */
  readonly badHistoryLimit: number;
}

export const DEFAULT_MACHINE_CONFIG: MachineConfig = {
  bundleRoot: "/var/lib/nk-agent/bundles",
  disruptiveUnits: ["k3s.service", "containerd.service"],
  defaultHealthDeadlineMs: 10 * 60_000,
  defaultActivationTimeoutMs: 5 * 60_000,
  rebootDeadlineMs: 15 * 60_000,
  maxRebootAttempts: 2,
  maxRollbackAttempts: 3,
  maxBuildAttempts: 3,
  badHistoryLimit: 100,
};

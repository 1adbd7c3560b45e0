// Pure: what switching a node to a builder's system would take, from paths alone (no node-side build or dry-activate).
import type { RebootPolicy } from "../../../shared/src/inventory/model.js";
import { bootPathChanges, bootPathsFromWire, describeChange, type BootChange, type BootPaths } from "../../../shared/src/wire/index.js";
import type { BuiltPaths } from "./build-queue.js";

/** What the node last said about what it runs. */
export interface NodeRunning {
  readonly currentSystem: string;
  readonly bootedSystem: string;
  /** The booted system's boot paths as the agent reports them; null from an agent that does not. */
  readonly bootedBoot: BootPaths | null;
}

export interface ExpectedDisruption {
  /** unknown: the node has not said enough to tell (it is never guessed). */
  readonly outcome: "no-op" | "switch" | "reboot" | "unknown";
  readonly reason: string;
  readonly changes: readonly BootChange[];
}

/** A node's last report as NodeRunning; null without one. */
export function nodeRunning(report: { currentSystem: string; bootedSystem: string; bootedBoot?: { kernel: string; initrd: string; kernelModules: string } } | undefined): NodeRunning | null {
  return report ? { currentSystem: report.currentSystem, bootedSystem: report.bootedSystem, bootedBoot: bootPathsFromWire(report.bootedBoot) } : null;
}

/** Units are known only to the node's dry-activate: a switch may still restart k3s or containerd (a lease). */
export const UNITS_UNKNOWN = "units it restarts not known without the node (a k3s or containerd restart would take a restart lease)";

/**
 * The agent's reboot rule (kernel, initrd or kernel modules differ from the booted system's; policy always or never)
 * applied to the builder's paths. The booted paths are the node's own report; failing that, the paths a builder
 * reported for the system the node booted (`bootedBuild`), which are the same links.
 */
export function expectedDisruption(built: BuiltPaths, node: NodeRunning | null, policy: RebootPolicy, bootedBuild: BootPaths | null = null): ExpectedDisruption {
  if (node === null) return { outcome: "unknown", reason: "the node has not reported what it runs yet", changes: [] };
  if (built.systemPath === node.currentSystem) return { outcome: "no-op", reason: "the built system is the one running", changes: [] };
  const booted = node.bootedBoot ?? bootedBuild;
  if (booted === null) return { outcome: "unknown", reason: "the node does not report its booted kernel, initrd and modules (an older agent), and no builder built its booted system", changes: [] };
  const changes = bootPathChanges(booted, built);
  const listed = changes.map(describeChange).join("; ");
  if (policy === "always") return { outcome: "reboot", reason: "reboot: the reboot policy is always", changes };
  if (changes.length > 0 && policy === "auto") return { outcome: "reboot", reason: `reboot: ${listed}`, changes };
  const boot = changes.length > 0 ? `reboot pending (policy never): ${listed}` : "kernel, initrd and kernel modules unchanged";
  return { outcome: "switch", reason: `switch: ${boot}; ${UNITS_UNKNOWN}`, changes };
}

// The desired state of one node, as the domain sees it and as AgentService carries it.
import { Desired, RebootPolicy as WireRebootPolicy } from "../proto/gen/nk/v1/common.js";
import type { RebootPolicy } from "../inventory/model.js";
import type { BundleFile } from "../render/bundle.js";

export interface CheckCommandSpec {
  readonly name: string;
  readonly command: readonly string[];
  readonly expect: string;
  readonly timeoutMs: number;
}

export interface DesiredBundle {
  readonly node: string;
  readonly revision: string;
  readonly sha256: string;
  readonly files: readonly BundleFile[];
  readonly agentVersion: string;
  readonly rebootPolicy: RebootPolicy;
  readonly checks: readonly CheckCommandSpec[];
  readonly secretNames: readonly string[];
  readonly healthDeadlineMs: number;
  /** 0 means the agent's default. */
  readonly activationTimeoutMs: number;
  readonly createdAtMs: number;
  /** Builders mode: fetch this system from the cache instead of building the bundle; null: build locally. */
  readonly prebuilt: PrebuiltSystem | null;
  /** The API VIP when this node carries it (absent otherwise): the agent reports whether it holds it. */
  readonly apiVip?: string;
  /** The etcd snapshot to save before this node's disruption (an embedded-etcd server); absent: none. */
  readonly etcdSnapshot?: string;
}

export interface PrebuiltSystem {
  readonly systemPath: string;
  readonly cacheUrl: string;
  readonly cachePublicKey: string;
  readonly fallbackLocal: boolean;
}

const POLICY_TO_WIRE: Record<RebootPolicy, WireRebootPolicy> = {
  auto: WireRebootPolicy.REBOOT_POLICY_AUTO,
  always: WireRebootPolicy.REBOOT_POLICY_ALWAYS,
  never: WireRebootPolicy.REBOOT_POLICY_NEVER,
};

export function desiredToWire(d: DesiredBundle): Desired {
  return {
    node: d.node,
    revision: d.revision,
    bundleSha256: d.sha256,
    files: d.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, "utf8"), executable: false })),
    agentVersion: d.agentVersion,
    rebootPolicy: POLICY_TO_WIRE[d.rebootPolicy],
    checks: d.checks.map((c) => ({ name: c.name, command: [...c.command], expect: c.expect, timeoutMs: c.timeoutMs })),
    secretNames: [...d.secretNames],
    healthDeadlineMs: d.healthDeadlineMs,
    activationTimeoutMs: d.activationTimeoutMs,
    createdAtMs: d.createdAtMs,
    prebuilt: d.prebuilt ? { ...d.prebuilt } : undefined,
    apiVip: d.apiVip ?? "",
    etcdSnapshot: d.etcdSnapshot ?? "",
  };
}

export function desiredFromWire(d: Desired): DesiredBundle {
  const policy = (Object.entries(POLICY_TO_WIRE).find(([, v]) => v === d.rebootPolicy)?.[0] ?? "auto") as RebootPolicy;
  return {
    node: d.node,
    revision: d.revision,
    sha256: d.bundleSha256,
    files: d.files.map((f) => ({ path: f.path, content: Buffer.from(f.content).toString("utf8") })),
    agentVersion: d.agentVersion,
    rebootPolicy: policy,
    checks: d.checks.map((c) => ({ name: c.name, command: [...c.command], expect: c.expect, timeoutMs: c.timeoutMs })),
    secretNames: [...d.secretNames],
    healthDeadlineMs: d.healthDeadlineMs,
    activationTimeoutMs: d.activationTimeoutMs,
    createdAtMs: d.createdAtMs,
    // An empty path is what an unset message decodes to in some clients: treat it as no prebuilt system.
    prebuilt: d.prebuilt && d.prebuilt.systemPath !== "" ? { ...d.prebuilt } : null,
    ...(d.apiVip ? { apiVip: d.apiVip } : {}),
    ...(d.etcdSnapshot ? { etcdSnapshot: d.etcdSnapshot } : {}),
  };
}

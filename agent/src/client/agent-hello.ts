// The Hello that opens every desired stream: identity and machine state, then tells the self-update guard this agent is alive.
import type { SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";
import type { AgentState } from "../apply/index.js";
import { writeAlive } from "../guard/index.js";
import type { CoordinatorClient } from "./coordinator-client.js";

export interface MachineView {
  readonly bootId: string;
  readonly bootedSystem: string;
  readonly currentSystem: string;
}

export interface AgentHelloDeps {
  readonly hello: CoordinatorClient["hello"];
  readonly state: () => AgentState;
  readonly machine: () => Promise<MachineView>;
  readonly facts: () => Promise<SystemInfo>;
  readonly agentVersion: string;
  readonly stateDir: string;
  /** NK_AGENT_PACKAGE: set by the NixOS unit; without it there is no guard to tell. */
  readonly agentPackage: string | undefined;
  readonly now: () => number;
}

export class AgentHello {
  private aliveWritten = false;

  constructor(private readonly deps: AgentHelloDeps) {}

  async send(): Promise<void> {
    const { deps } = this;
    const s = deps.state();
    const m = await deps.machine();
    await deps.hello({ agentVersion: deps.agentVersion, ...m, systemInfo: await deps.facts(), appliedRevision: s.applied?.revision ?? "", appliedSha256: s.applied?.sha256 ?? "", phase: 0, heldFencingToken: s.lease?.fencingToken ?? 0 });
    // Tells the self-update guard that this agent package came up and reached a coordinator.
    if (!this.aliveWritten) this.aliveWritten = await writeAlive(deps.stateDir, deps.agentPackage, deps.agentVersion, new Date(deps.now()));
  }
}

// The Hello that opens every desired stream: identity and machine state, then the self-update guard's bookkeeping.
import type { SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";
import type { AgentState, ApplyReport } from "../apply/index.js";
import type { GuardRollback } from "../guard/index.js";
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
  /** The guard's verdict read at start: reported once, after the first Hello, so the coordinator learns of it. */
  readonly guardRollback: GuardRollback | null;
  readonly report: (report: ApplyReport) => void;
  readonly now: () => number;
}

export class AgentHello {
  private aliveWritten = false;
  private guardRollback: GuardRollback | null;

  constructor(private readonly deps: AgentHelloDeps) {
    this.guardRollback = deps.guardRollback;
  }

  async send(): Promise<void> {
    const { deps } = this;
    const s = deps.state();
    const m = await deps.machine();
    await deps.hello({ agentVersion: deps.agentVersion, ...m, systemInfo: await deps.facts(), appliedRevision: s.applied?.revision ?? "", appliedSha256: s.applied?.sha256 ?? "", phase: 0, heldFencingToken: s.lease?.fencingToken ?? 0 });
    // Tells the self-update guard that this agent package came up and reached a coordinator.
    if (!this.aliveWritten) this.aliveWritten = await writeAlive(deps.stateDir, deps.agentPackage, deps.agentVersion, new Date(deps.now()));
    if (this.guardRollback) {
      deps.report({ phase: "rolled-back", revision: s.applied?.revision ?? "", sha256: s.applied?.sha256 ?? "", error: `self-update guard rolled back ${this.guardRollback.from}: ${this.guardRollback.reason}`, fencingToken: null });
      this.guardRollback = null;
    }
  }
}

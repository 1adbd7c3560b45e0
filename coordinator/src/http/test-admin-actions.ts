// AdminActions for tests of the admin HTTP API: records calls and answers like the core would.
import { NkError } from "../../../shared/src/errors/index.js";
import type { AdminActions, RolloutView } from "../status/index.js";
import { makeRollout } from "./test-status-source.js";

export type AdminCall =
  | { readonly op: "pause"; readonly reason: string }
  | { readonly op: "resume" }
  | { readonly op: "approve" }
  | { readonly op: "release"; readonly node: string; readonly force: boolean; readonly reason: string }
  | { readonly op: "enroll"; readonly node: string };

export class TestAdminActions implements AdminActions {
  readonly calls: AdminCall[] = [];
  /** Nodes the inventory knows; others fail with NODE_UNKNOWN like the real core. */
  constructor(private readonly known: ReadonlySet<string> = new Set(["n1", "n2", "n3"])) {}

  async pause(reason: string): Promise<RolloutView> {
    this.calls.push({ op: "pause", reason });
    return makeRollout({ paused: true, pauseReason: reason });
  }

  async resume(): Promise<RolloutView> {
    this.calls.push({ op: "resume" });
    return makeRollout();
  }

  async approve(): Promise<RolloutView> {
    this.calls.push({ op: "approve" });
    return makeRollout({ stage: "done" });
  }

  async releaseLease(node: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }> {
    this.calls.push({ op: "release", node, force, reason });
    if (!this.known.has(node)) throw new NkError("NODE_UNKNOWN", `node "${node}" is not in the inventory`);
    return force ? { released: true, message: `lease of ${node} released` } : { released: false, message: `${node} is rebooting; use force` };
  }

  async enrollNode(node: string): Promise<{ node: string; token: string }> {
    this.calls.push({ op: "enroll", node });
    if (!this.known.has(node)) throw new NkError("NODE_UNKNOWN", `node "${node}" is not in the inventory`);
    return { node, token: `nk1.${node}.one-time-secret` };
  }
}

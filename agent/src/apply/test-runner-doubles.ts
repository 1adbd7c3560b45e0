// Doubles for the ApplyRunner tests (test-only, not built): a manual clock, the coordinator's side of one node's
// lease in memory, and desired bundles that differ in what they disrupt.
import { NkError } from "../../../shared/src/errors/index.js";
import { bundleSha256, type BundleFile } from "../../../shared/src/render/index.js";
import type { DesiredBundle as WireDesiredBundle } from "../../../shared/src/wire/index.js";
import type { Clock, LeaseAnswer, LeaseClient, LeaseRequest } from "./runner-ports.js";

/** Time that moves only when the test says so. */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((x) => x !== timer));
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.fn();
  }
}

/** The coordinator's side of one node's lease, in memory. */
export class MemoryLeases implements LeaseClient {
  holder: number | null = null;
  private next = 1;
  readonly calls: string[] = [];
  async acquire(req: LeaseRequest): Promise<LeaseAnswer> {
    this.calls.push(`acquire ${req.kind} ${req.fencingToken ?? "-"}`);
    // A node asking again gets the lease it already holds: same fencing token.
    this.holder ??= this.next++;
    return { granted: true, fencingToken: this.holder };
  }
  async renew(token: number, state: string): Promise<void> {
    this.calls.push(`renew ${token} ${state}`);
    if (token !== this.holder) throw new NkError("LEASE_FENCED", "stale token");
  }
  async release(token: number, success: boolean): Promise<void> {
    this.calls.push(`release ${token} ${success}`);
    if (token === this.holder) this.holder = null;
  }
  async drain(token: number): Promise<{ ok: true }> {
    this.calls.push(`drain ${token}`);
    return { ok: true };
  }
}

export class Exited extends Error {}

export const files = (o: { nixpkgs?: string; k3s?: string; users?: string } = {}): BundleFile[] => [
  { path: "flake.nix", content: `{ inputs.nixpkgs.url = "${o.nixpkgs ?? "github:NixOS/nixpkgs/nixos-24.11"}"; }\n` },
  { path: "nk/k3s.nix", content: o.k3s ?? "{ services.k3s.role = \"server\"; }\n" },
  { path: "nk/users.nix", content: o.users ?? "{ }\n" },
];

// The coordinator's desired bundle (shared/wire) is what the client hands the runner.
export const desired = (rev: string, f: BundleFile[]): WireDesiredBundle => ({
  node: "n1",
  revision: rev,
  sha256: bundleSha256(f),
  files: f,
  agentVersion: "0.1.0",
  rebootPolicy: "auto",
  checks: [{ name: "node-ok", command: [process.execPath, "-e", "console.log('OK')"], expect: "OK", timeoutMs: 10_000 }],
  secretNames: [],
  activationTimeoutMs: 0,
  healthDeadlineMs: 60_000,
  createdAtMs: 0,
  prebuilt: null,
});
export const REV1 = desired("r1", files());
export const REV2_USERS = desired("r2", files({ users: "{ users.users.dev = { }; }\n" }));
export const REV2_K3S = desired("r2k", files({ k3s: "{ services.k3s.role = \"server\"; services.k3s.extraFlags = [ \"--x\" ]; }\n" }));

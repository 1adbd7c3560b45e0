// The rollout derivation: phases as spans, order, reboots, outcome and who pushed, from journal events alone.
import { describe, expect, it } from "vitest";
import type { EventView } from "./cluster-snapshot.js";
import { deriveRollouts, isRolloutEvent } from "./derive-rollouts.js";

const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const R1 = "1111111111111111111111111111111111111111";
const R2 = "2222222222222222222222222222222222222222";

/** A journal written in order: each call appends one event `atS` seconds after T0. */
function journal() {
  const events: EventView[] = [];
  const add = (atS: number, kind: string, o: { node?: string; revision?: string; message?: string; fields?: Record<string, string> } = {}) =>
    events.push({ seq: events.length + 1, timeMs: T0 + atS * 1000, kind, node: o.node ?? "", revision: o.revision ?? R1, message: o.message ?? kind, fields: o.fields ?? {} });
  const phase = (atS: number, node: string, from: string, to: string, revision = R1) =>
    add(atS, "lease-phase", { node, revision, message: `${from} → ${to}`, fields: { fencingToken: "1", from, to } });
  /** The full reboot of one node, starting at `s`: queued 2 s, granted 1 s, draining 3 s, drained 1 s, rebooting 10 s, verifying 4 s. */
  const reboot = (s: number, node: string, revision = R1) => {
    add(s, "lease-queued", { node, revision });
    add(s + 2, "lease-granted", { node, revision });
    phase(s + 3, node, "granted", "draining", revision);
    add(s + 6, "lease-drained", { node, revision });
    phase(s + 7, node, "drained", "rebooting", revision);
    phase(s + 17, node, "rebooting", "verifying", revision);
    add(s + 20, "node-applied", { node, revision });
    add(s + 21, "lease-released", { node, revision });
  };
  return { events, add, phase, reboot };
}

describe("deriveRollouts", () => {
  it("turns one rollout's lease journal into per-node phase spans in the order the nodes went", () => {
    const j = journal();
    j.add(0, "revision-adopted", { fields: { changed: "n2,n1", pushedBy: "alice" } });
    j.reboot(1, "n2");
    j.reboot(25, "n1");
    const commits = new Map([[R1, { author: "Alice", email: "alice@example.test", subject: "bump nixpkgs" }]]);
    const [r] = deriveRollouts(j.events, commits);
    expect(r).toMatchObject({ revision: R1, adoptedAtMs: T0, pushedBy: "alice", commit: { author: "Alice" }, changed: ["n2", "n1"], reboots: 2, outcome: "converged", endedAtMs: T0 + 46_000 });
    expect(r!.nodes.map((n) => n.node)).toEqual(["n2", "n1"]);
    const n2 = r!.nodes[0]!;
    expect(n2.spans.map((s) => [s.phase, (s.startMs - T0) / 1000, (s.endMs! - T0) / 1000])).toEqual([
      ["queued", 1, 3],
      ["granted", 3, 4],
      ["draining", 4, 7],
      ["drained", 7, 8],
      ["rebooting", 8, 18],
      ["verifying", 18, 22],
    ]);
    expect(n2).toMatchObject({ appliedAtMs: T0 + 21_000, outcome: "done", rebooted: true });
  });

  it("keeps a node on the revision its lease names when a newer revision arrives mid-rollout", () => {
    const j = journal();
    j.add(0, "revision-adopted", { fields: { changed: "n1,n2" } });
    j.reboot(1, "n1");
    j.add(23, "lease-queued", { node: "n2" });
    j.add(24, "lease-granted", { node: "n2" });
    j.add(30, "revision-adopted", { revision: R2, fields: { changed: "n3" } });
    let [newest, older] = deriveRollouts(j.events);
    expect(newest).toMatchObject({ revision: R2, outcome: "rolling-out", endedAtMs: null, nodes: [] });
    expect(older).toMatchObject({ revision: R1, outcome: "superseded", endedAtMs: null });
    expect(older!.nodes[1]!.spans.at(-1)).toMatchObject({ phase: "granted", endMs: null });

    j.phase(31, "n2", "granted", "rebooting");
    j.phase(40, "n2", "rebooting", "verifying");
    j.add(41, "node-applied", { node: "n2" });
    j.add(42, "lease-released", { node: "n2" });
    j.add(43, "node-applied", { node: "n3", revision: R2 });
    [newest, older] = deriveRollouts(j.events);
    expect(older).toMatchObject({ outcome: "converged", endedAtMs: T0 + 42_000, reboots: 2 });
    // A switch without a lease (no reboot needed) is a node with no bars, only its switch time.
    expect(newest).toMatchObject({ outcome: "converged", reboots: 0, endedAtMs: T0 + 43_000, nodes: [{ node: "n3", spans: [], appliedAtMs: T0 + 43_000, outcome: "done", rebooted: false }] });
  });

  it("reports a failed node as halted while the halt stands, failed once it is lifted", () => {
    const j = journal();
    j.add(0, "revision-adopted", { fields: { changed: "n1,n2" } });
    j.add(1, "lease-granted", { node: "n1" });
    j.phase(2, "n1", "granted", "rebooting");
    j.add(9, "rollout-halted", { node: "n1", message: "node n1 failed: health check ceph" });
    j.add(9, "lease-released-failed", { node: "n1" });
    let [r] = deriveRollouts(j.events);
    expect(r).toMatchObject({ outcome: "halted", haltReason: "node n1 failed: health check ceph", endedAtMs: T0 + 9000 });
    expect(r!.nodes[0]).toMatchObject({ outcome: "failed", rebooted: true, appliedAtMs: null });
    j.add(20, "rollout-halt-lifted", {});
    [r] = deriveRollouts(j.events);
    expect(r).toMatchObject({ outcome: "failed", haltReason: "" });
  });

  it("keeps one queued span for a renewed request, ends it on a drop, and ignores events that move nothing", () => {
    const j = journal();
    j.add(0, "revision-adopted", { fields: { changed: "n1" } });
    j.add(1, "lease-queued", { node: "n1" });
    j.add(2, "lease-queued", { node: "n1" });
    j.add(3, "lease-holder-silent", { node: "n9" });
    j.add(4, "lease-request-dropped", { node: "n1" });
    const [r] = deriveRollouts(j.events);
    expect(r!.nodes).toEqual([{ node: "n1", spans: [{ phase: "queued", startMs: T0 + 1000, endMs: T0 + 4000 }], appliedAtMs: null, outcome: "dropped", rebooted: false }]);
    // Not every changed node applied: the rollout did not converge, and nothing is in progress any more.
    expect(r).toMatchObject({ outcome: "rolling-out", endedAtMs: null });
  });

  it("reads the target phase from the message of journal entries without a `to` field", () => {
    const j = journal();
    j.add(0, "revision-adopted", { fields: { changed: "n1" } });
    j.add(1, "lease-granted", { node: "n1" });
    j.add(2, "lease-phase", { node: "n1", message: "granted → rebooting" });
    const [r] = deriveRollouts(j.events);
    expect(r!.nodes[0]!.spans.map((s) => s.phase)).toEqual(["granted", "rebooting"]);
  });

  it("dates a revision whose adoption fell out of the journal by its first event, and a revision that changed nothing is done at once", () => {
    const j = journal();
    j.add(5, "lease-granted", { node: "n1", revision: R1 });
    j.add(10, "revision-adopted", { revision: R2, fields: { changed: "" } });
    j.add(11, "revision-adopted", { revision: R2, fields: { changed: "n1" } });
    const [r2, r1] = deriveRollouts(j.events);
    expect(r1).toMatchObject({ revision: R1, adoptedAtMs: T0 + 5000, commit: null, pushedBy: "" });
    // The re-adoption after a restart neither restarts the clock nor changes the node list.
    expect(r2).toMatchObject({ revision: R2, adoptedAtMs: T0 + 10_000, changed: [], outcome: "converged", endedAtMs: T0 + 10_000 });
  });

  it("takes who pushed and what changed from an adoption journaled after a node's first step", () => {
    const j = journal();
    // Agents hear of a revision before its adoption is journaled, so a quick node can come first.
    j.add(1, "lease-queued", { node: "n1" });
    j.add(2, "revision-adopted", { fields: { changed: "n1,n2", pushedBy: "alice" } });
    j.add(3, "lease-granted", { node: "n1" });
    const [r] = deriveRollouts(j.events);
    expect(r).toMatchObject({ revision: R1, adoptedAtMs: T0 + 1000, pushedBy: "alice", changed: ["n1", "n2"], outcome: "rolling-out", endedAtMs: null });
    expect(r!.nodes.map((n) => [n.node, n.spans.map((s) => s.phase)])).toEqual([["n1", ["queued", "granted"]]]);
  });

  it("keeps only the events that matter to the timeline", () => {
    expect(["revision-adopted", "lease-queued", "lease-phase", "lease-drained", "lease-released-failed", "node-applied", "rollout-halted", "rollout-halt-lifted"].every(isRolloutEvent)).toBe(true);
    expect(["node-enrolled", "rollout-paused", "lease-holder-silent", "push-rejected"].some(isRolloutEvent)).toBe(false);
  });
});

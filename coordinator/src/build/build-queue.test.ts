// The build queue: spread over builders, retried on another builder when one is lost, never blocking unrelated nodes.
import { describe, expect, it } from "vitest";
import { assignJobs, buildCounts, builderLost, enqueueRevision, jobFinished, keepFinished, MAX_LOST, type BuildJobRecord, type ConnectedBuilder } from "./build-queue.js";

const X86 = "x86_64-linux" as const;
const ARM = "aarch64-linux" as const;
const nodes = (names: string[], system: typeof X86 | typeof ARM = X86) => names.map((node) => ({ node, system, bundleSha256: `${node}`.padEnd(64, "0") }));
const B1: ConnectedBuilder = { name: "b1", systems: [X86] };
const B2: ConnectedBuilder = { name: "b2", systems: [X86] };
const built = (node: string) => ({ systemPath: `/nix/store/${"a".repeat(32)}-nixos-system-${node}`, kernel: "/nix/store/k/bzImage", initrd: "/nix/store/i/initrd", kernelModules: null });
const where = (jobs: BuildJobRecord[]) => Object.fromEntries(jobs.map((j) => [j.node, `${j.state}${j.builder ? `@${j.builder}` : ""}`]));

describe("build queue", () => {
  it("spreads a revision's jobs over the builders, the least busy first, up to their capacity", () => {
    const jobs = enqueueRevision([], "r1", nodes(["n1", "n2", "n3", "n4", "n5"]));
    const { jobs: next, assignments } = assignJobs(jobs, [B1, B2], 2);
    expect(assignments.map((a) => `${a.job.node}@${a.builder}`)).toEqual(["n1@b1", "n2@b2", "n3@b1", "n4@b2"]);
    expect(where(next)).toMatchObject({ n5: "queued" });
    expect(buildCounts(next, "r1")).toEqual({ queued: 1, building: 4, pushed: 0, failed: 0 });
  });

  it("retries the jobs of a builder that died on another builder, and ignores the dead one's late result", () => {
    let jobs = assignJobs(enqueueRevision([], "r1", nodes(["n1", "n2"])), [B1, B2], 1).jobs;
    jobs = builderLost(jobs, "b1");
    expect(where(jobs)).toEqual({ n1: "queued", n2: "building@b2" });
    jobs = jobFinished(jobs, "r1", "n2", "b2", { ok: true, built: built("n2") });
    const again = assignJobs(jobs, [B1, B2], 1);
    // b1 is back, but b2 (which did not fail this job) gets it.
    expect(again.assignments.map((a) => `${a.job.node}@${a.builder}`)).toEqual(["n1@b2"]);
    jobs = jobFinished(again.jobs, "r1", "n1", "b1", { ok: true, built: built("n1") });
    expect(where(jobs)).toEqual({ n1: "building@b2", n2: "pushed@b2" });
    jobs = jobFinished(jobs, "r1", "n1", "b2", { ok: true, built: built("n1") });
    expect(jobs.find((j) => j.node === "n1")).toMatchObject({ state: "pushed", lost: ["b1"], built: built("n1") });
  });

  it("fails a job that took down MAX_LOST builders, with the reason", () => {
    let jobs = enqueueRevision([], "r1", nodes(["n1"]));
    for (const b of ["b1", "b2", "b3"].slice(0, MAX_LOST)) {
      jobs = builderLost(assignJobs(jobs, [{ name: b, systems: [X86] }], 1).jobs, b);
    }
    expect(jobs[0]).toMatchObject({ state: "failed", error: "3 builders were lost while building it (b1, b2, b3)" });
  });

  it("does not hold up other nodes behind a job no connected builder can build, nor behind a failed one", () => {
    let jobs = enqueueRevision([], "r1", [...nodes(["pi"], ARM), ...nodes(["n1", "n2"])]);
    jobs = assignJobs(jobs, [B1], 1).jobs;
    expect(where(jobs)).toEqual({ pi: "queued", n1: "building@b1", n2: "queued" });
    jobs = jobFinished(jobs, "r1", "n1", "b1", { ok: false, error: "error: builder for '/nix/store/x.drv' failed with exit code 1" });
    jobs = assignJobs(jobs, [B1], 1).jobs;
    expect(where(jobs)).toEqual({ pi: "queued", n1: "failed@b1", n2: "building@b1" });
    expect(jobs.find((j) => j.node === "n1")!.error).toBe("error: builder for '/nix/store/x.drv' failed with exit code 1");
    jobs = assignJobs(jobs, [B1, { name: "arm", systems: [ARM] }], 1).jobs;
    expect(where(jobs)).toMatchObject({ pi: "building@arm" });
  });

  it("builds only the newest bundle of a node: a new revision replaces the node's unfinished job", () => {
    let jobs = assignJobs(enqueueRevision([], "r1", nodes(["n1", "n2"])), [B1], 1).jobs;
    jobs = enqueueRevision(jobs, "r2", nodes(["n1"]));
    expect(jobs.map((j) => `${j.revision}/${j.node}:${j.state}`)).toEqual(["r1/n2:queued", "r2/n1:queued"]);
    // The builder's result for the replaced job is not taken.
    jobs = jobFinished(jobs, "r1", "n1", "b1", { ok: true, built: built("n1") });
    expect(buildCounts(jobs, "r1")).toEqual({ queued: 1, building: 0, pushed: 0, failed: 0 });
  });

  it("keeps each node's newest finished jobs, in their order, and every open one", () => {
    let jobs: BuildJobRecord[] = [];
    for (const rev of ["r1", "r2", "r3"]) {
      jobs = assignJobs(enqueueRevision(jobs, rev, nodes(["n1"])), [B1], 1).jobs;
      jobs = jobFinished(jobs, rev, "n1", "b1", { ok: true, built: built("n1") });
    }
    jobs = enqueueRevision(jobs, "r4", nodes(["n1", "n2"]));
    expect(keepFinished(jobs, 2).map((j) => `${j.revision}/${j.node}:${j.state}`)).toEqual(["r2/n1:pushed", "r3/n1:pushed", "r4/n1:queued", "r4/n2:queued"]);
  });
});

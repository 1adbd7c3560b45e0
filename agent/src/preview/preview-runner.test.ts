// PreviewRunner on a SimSystem: builds and classifies in its own directory, at low priority, and leaves the machine's
// generations, current system and boot default exactly as they were.
import { mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { bundleSha256, type BundleFile } from "../../../shared/src/render/index.js";
import type { PreviewResult } from "../../../shared/src/wire/index.js";
import { SimSystem } from "../system/sim-system.js";
import { PreviewRunner } from "./preview-runner.js";
import type { PreviewJob } from "./preview-transition.js";

function files(nixpkgs: string, k3s = "{ services.k3s.role = \"server\"; }\n"): BundleFile[] {
  return [
    { path: "flake.nix", content: `{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/${nixpkgs}"; }\n` },
    { path: "nk/k3s.nix", content: k3s },
  ];
}

function job(name: string, f: BundleFile[]): PreviewJob {
  return { name, sha256: bundleSha256(f), revision: "rev", files: f, rebootPolicy: "auto" };
}

let dir = "";
let sim: SimSystem;
let runner: PreviewRunner;
let reports: PreviewResult[] = [];
let waiters: Array<{ pred: (r: PreviewResult) => boolean; resolve: (r: PreviewResult) => void }> = [];

/** Resolves with the first report (already sent or still to come) that matches. */
function reported(pred: (r: PreviewResult) => boolean): Promise<PreviewResult> {
  const seen = reports.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ pred, resolve }));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-preview-"));
  reports = [];
  waiters = [];
  sim = await SimSystem.open({ dir: join(dir, "machine"), node: "n1", timeScale: 0, pollMs: 5 });
  runner = new PreviewRunner({
    system: sim,
    node: "n1",
    root: join(dir, "previews"),
    disruptiveUnits: ["k3s.service", "containerd.service"],
    log: silentLogger(),
    report: (r) => {
      reports.push(r);
      for (const w of waiters.filter((x) => x.pred(r))) w.resolve(r);
      waiters = waiters.filter((x) => !x.pred(r));
    },
  });
});
afterEach(async () => {
  runner.halt();
  await rm(dir, { recursive: true, force: true });
});

async function machine(): Promise<{ generations: number[]; current: string; booted: string; bootDefault: string }> {
  return { generations: await sim.generations(), current: await sim.currentSystem(), booted: await sim.bootedSystem(), bootDefault: await sim.bootDefault() };
}

describe("PreviewRunner", () => {
  it("a nixpkgs bump reports reboot with the kernel change named, and the machine is untouched", async () => {
    const before = await machine();
    const j = job("bump", files("nixos-25.05"));
    await runner.dispatch({ type: "requested", job: j });
    const r = await reported((x) => x.outcome !== "building");
    expect(r).toMatchObject({ name: "bump", sha256: j.sha256, outcome: "reboot" });
    expect(r.reason).toMatch(/^reboot: kernel linux-sim-\w{8} → linux-sim-\w{8}; initrd /);
    expect(r.changes.map((c) => c.what)).toEqual(["kernel", "initrd", "kernel-modules"]);
    expect(reports.map((x) => x.outcome)).toEqual(["building", "reboot"]);
    expect(await machine()).toEqual(before);
    expect(sim.lowPriorityBuilds).toBe(1);
    // Its own directory, with the build's GC root in it.
    expect(await readlink(join(dir, "previews", "bump", "result"))).toBe(r.systemPath);
  });

  it("a failing build reports build-failed with the log's last lines; a delete removes the preview's build", async () => {
    await sim.setFaults({ "*": ["build-error"] });
    await runner.dispatch({ type: "requested", job: job("broken", files("nixos-25.05")) });
    const r = await reported((x) => x.outcome !== "building");
    expect(r).toMatchObject({ outcome: "build-failed", reason: "error: simulated build failure", logTail: "building the system configuration...\nerror: simulated build failure" });
    await runner.dispatch({ type: "cancel-requested", name: "broken", reason: "deleted" });
    expect(await readdir(join(dir, "previews"))).toEqual([]);
  });

  it("a real apply cancels the running preview; a newer preview replaces the older one's directory", async () => {
    const hanging = job("slow", files("nixos-25.05"));
    await sim.setFaults({ [hanging.sha256]: ["build-hang"] });
    await runner.dispatch({ type: "requested", job: hanging });
    await reported((x) => x.name === "slow" && x.outcome === "building");
    await runner.dispatch({ type: "apply-busy", busy: true });
    expect(await reported((x) => x.name === "slow" && x.outcome === "cancelled")).toMatchObject({ reason: "a real apply started on this node" });
    expect(runner.state.running).toBeNull();

    await runner.dispatch({ type: "apply-busy", busy: false });
    await runner.dispatch({ type: "requested", job: job("users", files("nixos-24.11", "{ services.k3s.role = \"agent\"; }\n")) });
    expect(await reported((x) => x.name === "users" && x.outcome !== "building")).toMatchObject({ outcome: "reboot" });
    expect(await readdir(join(dir, "previews"))).toEqual(["users"]);
  });
});

// SimSystem: generations, reboot detection from the bundle, reboots that end the process, live faults.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { bundleSha256, type BundleFile } from "../../../shared/src/render/index.js";
import { systemHealthProbe } from "../apply/system-health-probe.js";
import { SIM_REBOOT_EXIT_CODE, SimSystem } from "./sim-system.js";

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function bundle(opts: { nixpkgs?: string; k3s?: string; users?: string } = {}): BundleFile[] {
  return [
    { path: "flake.nix", content: `{ inputs.nixpkgs.url = "${opts.nixpkgs ?? "github:NixOS/nixpkgs/nixos-24.11"}"; }\n` },
    { path: "nk/k3s.nix", content: opts.k3s ?? "{ services.k3s.role = \"server\"; }\n" },
    { path: "nk/users.nix", content: opts.users ?? "{ users.users.ops = { }; }\n" },
  ];
}

let dir = "";
let sim: SimSystem;
const exits: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-sim-"));
  exits.length = 0;
  sim = await SimSystem.open({
    dir: join(dir, "machine"),
    node: "n1",
    timeScale: 0,
    pollMs: 5,
    exitProcess: (code) => {
      exits.push(code);
      throw new Exited(code);
    },
  });
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function built(files: BundleFile[], name = "b"): Promise<string> {
  const bundleDir = join(dir, name);
  await sim.writeBundle(bundleDir, files);
  const r = await sim.build(bundleDir, "n1");
  if (!r.ok) throw new Error(r.error);
  return r.systemPath;
}

async function reboot(systemPath: string, fallback: string | null = null): Promise<void> {
  await expect(sim.bootAndReboot(systemPath, fallback)).rejects.toBeInstanceOf(Exited);
}

describe("SimSystem", () => {
  it("starts on an initial system, booted, in generation 1", async () => {
    const current = await sim.currentSystem();
    expect(current).toMatch(/^\/nix\/store\/\w{32}-nixos-system-n1-initial$/);
    expect(await sim.bootedSystem()).toBe(current);
    expect(await sim.generations()).toEqual([1]);
    expect(await sim.bootId()).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sim.unitActive("k3s")).toBe(true);
    // Opening again keeps the machine as it is.
    const again = await SimSystem.open({ dir: join(dir, "machine"), node: "n1", timeScale: 0 });
    expect(await again.bootId()).toBe(await sim.bootId());
  });

  it("derives the system path from the bundle sha256", async () => {
    const files = bundle();
    expect(await built(files)).toBe(`/nix/store/${bundleSha256(files).slice(0, 32)}-nixos-system-n1-sim`);
  });

  it("needs a reboot for a nixpkgs bump, not for a users change", async () => {
    const base = await built(bundle(), "b1");
    await reboot(base);
    expect(await sim.bootedSystem()).toBe(base);
    expect(await sim.needsReboot(await built(bundle({ users: "{ users.users.dev = { }; }" }), "b2"))).toBe(false);
    expect(await sim.needsReboot(await built(bundle({ nixpkgs: "github:NixOS/nixpkgs/nixos-25.05" }), "b3"))).toBe(true);
  });

  it("restarts k3s only when nk/k3s.nix changes", async () => {
    const base = await built(bundle(), "b1");
    await sim.switch(base);
    expect((await sim.dryActivate(await built(bundle({ users: "{ }" }), "b2"))).restartUnits).toEqual([]);
    expect((await sim.dryActivate(await built(bundle({ k3s: "{ services.k3s.role = \"agent\"; }" }), "b3"))).restartUnits).toEqual(["k3s.service"]);
  });

  it("switches into a new generation without changing the booted system", async () => {
    const initial = await sim.currentSystem();
    const sp = await built(bundle());
    expect(await sim.switch(sp)).toMatchObject({ ok: true });
    expect(await sim.currentSystem()).toBe(sp);
    expect(await sim.bootedSystem()).toBe(initial);
    expect(await sim.bootDefault()).toBe(sp);
    expect(await sim.generations()).toEqual([1, 2]);
    expect(await readFile(join(dir, "machine", "generations", "2", "kernel"), "utf8")).not.toBe(await readFile(join(dir, "machine", "generations", "1", "kernel"), "utf8"));
    await sim.rollbackSwitch(initial);
    expect(await sim.currentSystem()).toBe(initial);
    expect(await sim.generations()).toEqual([1, 2, 3]);
    // Every generation appears whole (written aside, then renamed): nothing is left beside them.
    expect((await readdir(join(dir, "machine", "generations"))).sort()).toEqual(["1", "2", "3"]);
  });

  // Found by the long chaos run: an agent killed between creating generations/N/ and writing its files left a
  // generation without a system, which every later reader of the generations tripped over. Now a kill can only
  // leave a staging directory, which is neither listed nor in the way.
  it("ignores the staging directory of a generation write that a kill cut off", async () => {
    await mkdir(join(dir, "machine", "generations", `.2.${process.pid}.staging`), { recursive: true });
    await writeFile(join(dir, "machine", "generations", `.2.${process.pid}.staging`, "kernel"), "half\n");
    const sp = await built(bundle());
    expect(await sim.switch(sp)).toMatchObject({ ok: true });
    expect(await sim.generations()).toEqual([1, 2]);
    expect(await readFile(join(dir, "machine", "generations", "2", "system"), "utf8")).toBe(`${sp}\n`);
  });

  it("reboots into the boot default with a new boot id and ends the agent process", async () => {
    const bootId = await sim.bootId();
    const sp = await built(bundle());
    await reboot(sp);
    expect(exits).toEqual([SIM_REBOOT_EXIT_CODE]);
    expect(await sim.bootedSystem()).toBe(sp);
    expect(await sim.currentSystem()).toBe(sp);
    expect(await sim.bootId()).not.toBe(bootId);
  });

  it("leaves a result link like nixos-rebuild, and prunes bundles by it", async () => {
    await mkdir(join(dir, "bundles"));
    const paths = [];
    for (const users of ["a", "b", "c"]) paths.push(await built(bundle({ users: `{ users.users.${users} = { }; }` }), join("bundles", users)));
    await mkdir(join(dir, "bundles", "d.tmp-7"));
    expect(await readlink(join(dir, "bundles", "b", "result"))).toBe(paths[1]);
    expect(await sim.pruneBundles(join(dir, "bundles"), { sha256s: ["a"], systems: [paths[2]!] })).toEqual(["b", "d.tmp-7"]);
    expect((await readdir(join(dir, "bundles"))).sort()).toEqual(["a", "c"]);
  });

  it("ends a hung switch, failed, when its activation is stopped", async () => {
    const files = bundle();
    const sp = await built(files);
    await sim.setFaults({ [bundleSha256(files)]: ["activation-hang"] });
    const initial = await sim.currentSystem();
    const hung = sim.switch(sp);
    await sim.stopActivation(sp);
    expect(await hung).toMatchObject({ ok: false, error: "simulated activation stopped (systemctl stop)" });
    expect(await sim.currentSystem()).toBe(initial);
    expect(await sim.generations()).toEqual([1]);
    // Stopping nothing in flight is a no-op: the next switch is not affected.
    await sim.setFaults({});
    await sim.stopActivation(sp);
    expect(await sim.switch(sp)).toMatchObject({ ok: true });
  });

  it("boots a trial generation once, keeps the last good one the default until blessed", async () => {
    const initial = await sim.currentSystem();
    const sp = await built(bundle({ nixpkgs: "github:NixOS/nixpkgs/nixos-25.05" }));
    await reboot(sp, initial);
    expect(await sim.bootedSystem()).toBe(sp);
    expect(await sim.bootDefault()).toBe(initial);
    expect(await sim.bless(sp)).toMatchObject({ ok: true });
    expect(await sim.bootDefault()).toBe(sp);
    expect(await sim.generations()).toEqual([1, 2]);
  });

  it("comes back on the default generation, with a new boot id, when a trial generation never boots", async () => {
    const initial = await sim.currentSystem();
    const bootId = await sim.bootId();
    const files = bundle({ nixpkgs: "github:NixOS/nixpkgs/nixos-25.05" });
    const sp = await built(files);
    await sim.setFaults({ [bundleSha256(files)]: ["never-boots"] });
    await reboot(sp, initial);
    expect(await sim.bootedSystem()).toBe(initial);
    expect(await sim.currentSystem()).toBe(initial);
    expect(await sim.bootId()).not.toBe(bootId);
    expect(await sim.bootDefault()).toBe(initial);
    // The one-shot entry was used up: the next reboot does not try it again.
    await sim.setFaults({});
    await reboot(initial, null);
    expect(await sim.bootedSystem()).toBe(initial);
  });

  it("fails builds and activations on faults keyed by sha256 or *", async () => {
    const files = bundle();
    const sha = bundleSha256(files);
    await sim.setFaults({ [sha]: ["build-error"] });
    await sim.writeBundle(join(dir, "b"), files);
    expect(await sim.build(join(dir, "b"), "n1")).toMatchObject({ ok: false, error: "error: simulated build failure" });
    await sim.setFaults({ "*": ["activation-error"] });
    const sp = await built(files);
    const before = await sim.currentSystem();
    expect(await sim.switch(sp)).toMatchObject({ ok: false });
    expect(await sim.bootAndReboot(sp, null)).toMatchObject({ ok: false });
    expect(await sim.currentSystem()).toBe(before);
    expect(exits).toEqual([]);
  });

  it("has a k3s unit only in systems whose bundle has nk/k3s.nix (a host without k3s has none)", async () => {
    const withK3s = await built(bundle());
    const withoutK3s = await built(bundle().filter((f) => f.path !== "nk/k3s.nix"), "none");
    expect(await sim.systemHasUnit(withK3s, "k3s.service")).toBe(true);
    expect(await sim.systemHasUnit(withoutK3s, "k3s.service")).toBe(false);
    expect(await sim.systemHasUnit(withoutK3s, "network-setup.service")).toBe(true);
    // A host without k3s passes the agent's health probe even when k3s would count as down.
    await sim.setFaults({ "*": ["unhealthy-after-switch"] });
    await sim.switch(withoutK3s);
    expect(await sim.unitActive("k3s.service")).toBe(false);
    expect(await systemHealthProbe(sim).probe(withoutK3s, [], new AbortController().signal)).toEqual({ healthy: true, reason: "" });
    await sim.switch(withK3s);
    expect(await systemHealthProbe(sim).probe(withK3s, [], new AbortController().signal)).toEqual({ healthy: false, reason: "k3s.service is not active" });
  });

  it("is unhealthy after a switch or after a reboot as the faults say", async () => {
    const initial = await sim.currentSystem();
    const files = bundle();
    const sp = await built(files);
    await sim.setFaults({ [bundleSha256(files)]: ["unhealthy-after-reboot"] });
    await sim.switch(sp);
    expect(await sim.unitActive("k3s.service")).toBe(true);
    await reboot(sp);
    expect(await sim.unitActive("k3s.service")).toBe(false);
    expect(await sim.unitActive("sshd.service")).toBe(true);
    await sim.setFaults({ [bundleSha256(files)]: ["unhealthy-after-switch"] });
    await sim.switch(sp);
    expect(await sim.unitActive("k3s")).toBe(false);
    // The initial system is never faulted, so a rollback to it is healthy.
    await sim.setFaults({ "*": ["unhealthy-after-switch"] });
    await sim.rollbackSwitch(initial);
    expect(await sim.unitActive("k3s")).toBe(true);
  });

  it("hangs a build until the fault is removed, and stops on abort", async () => {
    const files = bundle();
    await sim.writeBundle(join(dir, "b"), files);
    await sim.setFaults({ [bundleSha256(files)]: ["build-hang"] });
    let done = false;
    const pending = sim.build(join(dir, "b"), "n1").then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    await sim.setFaults({});
    expect(await pending).toMatchObject({ ok: true });

    await sim.setFaults({ "*": ["hang"] });
    const ac = new AbortController();
    const aborted = sim.build(join(dir, "b"), "n1", ac.signal);
    ac.abort(new Error("superseded"));
    await expect(aborted).rejects.toThrow("superseded");
  });

  it("rejects a malformed faults file", async () => {
    await writeFile(join(dir, "machine", "faults.json"), JSON.stringify({ "*": ["explode"] }));
    await sim.writeBundle(join(dir, "b"), bundle());
    await expect(sim.build(join(dir, "b"), "n1")).rejects.toSatisfy((e: unknown) => isNkError(e, "INVALID_ARGUMENT"));
  });

  it("fails a bundle without flake.nix like nix would", async () => {
    await sim.writeBundle(join(dir, "b"), [{ path: "configuration.nix", content: "{ }" }]);
    expect(await sim.build(join(dir, "b"), "n1")).toMatchObject({ ok: false });
  });

  it("runs checks as real programs", async () => {
    expect(await sim.runCheck([process.execPath, "-e", "console.log('HEALTH_OK')"], 10_000)).toEqual({ exitCode: 0, stdout: "HEALTH_OK\n" });
  });

  it("answers simulated programs from commands.json, changeable live", async () => {
    await writeFile(join(dir, "machine", "commands.json"), JSON.stringify({ "ceph health": { stdout: "HEALTH_OK\n" } }));
    expect(await sim.runCheck(["ceph", "health"], 1_000)).toEqual({ exitCode: 0, stdout: "HEALTH_OK\n" });
    await writeFile(join(dir, "machine", "commands.json"), JSON.stringify({ "ceph health": { stdout: "HEALTH_WARN 1 osd down\n", exitCode: 1 } }));
    expect(await sim.runCheck(["ceph", "health"], 1_000)).toEqual({ exitCode: 1, stdout: "HEALTH_WARN 1 osd down\n" });
  });
});

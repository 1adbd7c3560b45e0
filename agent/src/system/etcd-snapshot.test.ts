// The etcd snapshot before a server goes down: NixosSystem's exact command line, and SimSystem's file and fault.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EXIT_TIMEOUT } from "./command-runner.js";
import { setup } from "./nixos-system-fixtures.js";
import { SIM_SNAPSHOT_DIR } from "./sim-etcd-snapshot.js";
import { SimSystem } from "./sim-system.js";

describe("NixosSystem.etcdSnapshot", () => {
  it("runs k3s etcd-snapshot save --name <name>, bounded in time", async () => {
    const { runner, sys } = setup();
    runner.on("k3s etcd-snapshot save", { stdout: "", stderr: 'level=info msg="Snapshot nk-a1b2c3d4e5f6-n1-n1-1733150000 saved."\n' });
    const r = await sys.etcdSnapshot("nk-a1b2c3d4e5f6-n1");
    expect(r.ok).toBe(true);
    expect(runner.calls.map((c) => c.argv)).toEqual([["k3s", "etcd-snapshot", "save", "--name", "nk-a1b2c3d4e5f6-n1"]]);
    expect(runner.calls[0]!.opts.timeoutMs).toBe(240_000);
  });

  it("fails with the exit code and the tail of stderr", async () => {
    const { runner, sys } = setup();
    const stderr = 'level=info msg="Saving etcd snapshot to /var/lib/rancher/k3s/server/db/snapshots"\nlevel=warning msg="retrying"\nlevel=error msg="context deadline exceeded"\nlevel=fatal msg="Error: etcd-snapshot: failed to save snapshot"\n';
    runner.on("k3s", { exitCode: 1, stderr });
    expect(await sys.etcdSnapshot("nk-a1b2c3d4e5f6-n1")).toMatchObject({
      ok: false,
      error: 'k3s etcd-snapshot save exited with 1: level=warning msg="retrying"; level=error msg="context deadline exceeded"; level=fatal msg="Error: etcd-snapshot: failed to save snapshot"',
    });
  });

  it("says so when the snapshot ran past its time", async () => {
    const { runner, sys } = setup();
    runner.on("k3s", { exitCode: EXIT_TIMEOUT });
    expect(await sys.etcdSnapshot("nk-x-n1")).toMatchObject({ ok: false, error: "k3s etcd-snapshot save did not finish within 240 s" });
  });
});

describe("SimSystem.etcdSnapshot", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const open = async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-sim-snap-"));
    dirs.push(dir);
    return { dir, sim: await SimSystem.open({ dir, node: "n1", timeScale: 0, pollMs: 5 }) };
  };

  it("writes the snapshot where k3s keeps them, named as k3s names it", async () => {
    const { dir, sim } = await open();
    const before = Math.floor(Date.now() / 1000);
    expect(await sim.etcdSnapshot("nk-a1b2c3d4e5f6-n1")).toMatchObject({ ok: true });
    const files = await sim.etcdSnapshots();
    expect(files).toHaveLength(1);
    const [, stamp] = /^nk-a1b2c3d4e5f6-n1-n1-(\d+)$/.exec(files[0]!) ?? [];
    expect(Number(stamp)).toBeGreaterThanOrEqual(before);
    const content = JSON.parse(await readFile(join(dir, SIM_SNAPSHOT_DIR, files[0]!), "utf8")) as { name: string; currentSystem: string };
    expect(content).toMatchObject({ name: "nk-a1b2c3d4e5f6-n1", currentSystem: await sim.currentSystem() });
  });

  it("fails, writing nothing, under the etcd-snapshot-error fault (by name or for all)", async () => {
    const { sim } = await open();
    await sim.setFaults({ "nk-a1b2c3d4e5f6-n1": ["etcd-snapshot-error"] });
    const r = await sim.etcdSnapshot("nk-a1b2c3d4e5f6-n1");
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/^k3s etcd-snapshot save exited with 1: level=fatal msg="Error: etcd-snapshot: failed to save snapshot/) });
    expect(await sim.etcdSnapshot("nk-other-n1")).toMatchObject({ ok: true });
    await sim.setFaults({ "*": ["etcd-snapshot-error"] });
    expect(await sim.etcdSnapshot("nk-third-n1")).toMatchObject({ ok: false });
    expect((await sim.etcdSnapshots()).map((f) => f.replace(/-\d+$/, ""))).toEqual(["nk-other-n1-n1"]);
  });
});

// The simulated VRRP election: SimSystem keeps keepalived, the hand-over flag and power as a real node would.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCluster } from "../../../shared/src/render/index.js";
import { lockFilesFor, vipInventory } from "../../../shared/src/render/test-inventory.js";
import { SimSystem } from "./sim-system.js";
import { simVipHolder, vipHolder, vrrpPriorityOf, type SimVipView } from "./sim-vip.js";

const view = (priority: number | null, patch: Partial<SimVipView> = {}): SimVipView => ({ priority, keepalivedActive: true, handedOver: false, powered: true, ...patch });

describe("vipHolder", () => {
  it("elects the highest priority among carriers that are up, run keepalived and did not hand over", () => {
    const views = new Map([
      ["n1", view(150)],
      ["n2", view(149)],
      ["n3", view(148)],
      ["n4", view(null)],
    ]);
    expect(vipHolder(views)).toBe("n1");
    expect(vipHolder(new Map([...views, ["n1", view(150, { handedOver: true })]]))).toBe("n2");
    expect(vipHolder(new Map([...views, ["n1", view(150, { powered: false })], ["n2", view(149, { keepalivedActive: false })]]))).toBe("n3");
    expect(vipHolder(new Map([["n4", view(null)]]))).toBeNull();
  });

  it("reads the priority from a rendered keepalived.nix", () => {
    const inv = vipInventory();
    const bundles = renderCluster(inv, lockFilesFor(inv));
    const priority = (n: string) => vrrpPriorityOf(bundles.get(n)!.files.find((f) => f.path === "nk/keepalived.nix")?.content);
    expect(["n1", "n2", "n3", "n4"].map(priority)).toEqual([150, 149, 148, null]);
  });
});

describe("SimSystem as a VIP carrier", () => {
  let root = "";
  const sims = new Map<string, SimSystem>();
  const dirs = new Map<string, string>();
  const reboots: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nk-sim-vip-"));
    const inv = vipInventory({ on: ["n2", "n1"] });
    const bundles = renderCluster(inv, lockFilesFor(inv));
    for (const node of ["n1", "n2"]) {
      dirs.set(node, join(root, node, "machine"));
      const exitProcess = (code: number): never => {
        reboots.push(node);
        throw new Error(`exit ${code}`);
      };
      const sim = await SimSystem.open({ dir: dirs.get(node)!, node, timeScale: 0, exitProcess, lanDir: join(root, "lan") });
      sims.set(node, sim);
      await sim.writeBundle(join(root, node, "bundle"), bundles.get(node)!.files);
      const built = await sim.build(join(root, node, "bundle"), node);
      if (!built.ok) throw new Error(built.error);
      // Before its switch the initial system carries nothing: n1 (switched first) holds the VIP alone, then n2 (priority 150) takes it.
      expect(await simVipHolder(dirs)).toBe(node === "n1" ? null : "n1");
      // Switching into the first system with keepalived starts it (as switch-to-configuration does).
      expect(await sim.switch(built.systemPath)).toMatchObject({ ok: true });
    }
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it("moves the VIP on hand-over, keeps it away across the reboot, and takes it back on rejoin", async () => {
    const n2 = sims.get("n2")!;
    expect(await n2.vipView()).toEqual({ priority: 150, keepalivedActive: true, handedOver: false, powered: true });
    expect(await simVipHolder(dirs)).toBe("n2");

    await n2.handOverVip();
    expect(await simVipHolder(dirs)).toBe("n1");
    await expect(n2.bootAndReboot(await n2.currentSystem(), null)).rejects.toThrow("exit 75");
    expect(reboots).toEqual(["n2"]);
    // Back up, keepalived started by systemd, but the flag on disk keeps it out of the election.
    expect(await n2.vipView()).toEqual({ priority: 150, keepalivedActive: true, handedOver: true, powered: true });
    expect(await simVipHolder(dirs)).toBe("n1");

    // What each agent reports (the simulated `ip addr`): the machines see the same election through their LAN.
    expect([await n2.holdsAddress("172.30.190.10"), await sims.get("n1")!.holdsAddress("172.30.190.10")]).toEqual([false, true]);
    await n2.rejoinVip();
    expect(await simVipHolder(dirs)).toBe("n2");
    expect([await n2.holdsAddress("172.30.190.10"), await sims.get("n1")!.holdsAddress("172.30.190.10")]).toEqual([true, false]);
    await n2.rejoinVip();
    expect(await n2.vipView()).toEqual({ priority: 150, keepalivedActive: true, handedOver: false, powered: true });
  });
});

// The simulated `k3s etcd-snapshot save`: a snapshot file where k3s keeps them, or the failure a fault asks for.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { SimMachineDir } from "./sim-machine-dir.js";
import { hasFault, readFaults } from "./sim-faults.js";
import type { ActivationResult } from "./system.js";

/** k3s's default snapshot directory on a server (--etcd-snapshot-dir), relative to the machine's root. */
export const SIM_SNAPSHOT_DIR = "var/lib/rancher/k3s/server/db/snapshots";

/** As k3s names the file: `<name>-<node>-<unix seconds>`; the content says what was running when it was taken. */
export async function simEtcdSnapshot(disk: SimMachineDir, node: string, name: string, nowMs: number): Promise<ActivationResult> {
  const argv = `k3s etcd-snapshot save --name ${name}`;
  if (hasFault(await readFaults(disk.dir), "etcd-snapshot-error", name)) {
    const stderr = 'level=fatal msg="Error: etcd-snapshot: failed to save snapshot: context deadline exceeded (simulated)"';
    return { ok: false, error: `k3s etcd-snapshot save exited with 1: ${stderr}`, log: `${argv}\n${stderr}` };
  }
  const file = `${name}-${node}-${Math.floor(nowMs / 1000)}`;
  const currentSystem = await disk.mustRead("current-system");
  await disk.write(join(SIM_SNAPSHOT_DIR, file), JSON.stringify({ name, node, savedAtMs: nowMs, currentSystem }));
  return { ok: true, log: `${argv}\nSnapshot ${file} saved.` };
}

/** The snapshot files on the simulated disk, oldest name first. */
export async function simEtcdSnapshots(disk: SimMachineDir): Promise<string[]> {
  try {
    return (await readdir(join(disk.dir, SIM_SNAPSHOT_DIR))).filter((f) => !f.startsWith(".")).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new NkError("IO", `cannot list ${join(disk.dir, SIM_SNAPSHOT_DIR)}`, { cause: err });
  }
}

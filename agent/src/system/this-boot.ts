// What cannot change while the agent process runs: its boot. A reboot ends the process (SimSystem's simulated one
// exits it too), so heartbeats read these once instead of every time (on NixOS the boot paths are three `readlink -e`).
import type { BootPaths } from "../../../shared/src/wire/index.js";
import type { System } from "./system.js";

export interface ThisBoot {
  readonly bootId: string;
  readonly bootedSystem: string;
  readonly bootedBoot: BootPaths;
}

/** Reads them on first use and keeps them; a failed read is not kept (the next call reads again). */
export function rememberThisBoot(system: Pick<System, "bootId" | "bootedSystem" | "bootedBootPaths">): () => Promise<ThisBoot> {
  let known: Promise<ThisBoot> | null = null;
  return () => {
    if (known) return known;
    const reading = Promise.all([system.bootId(), system.bootedSystem(), system.bootedBootPaths()]).then(([bootId, bootedSystem, bootedBoot]) => ({ bootId, bootedSystem, bootedBoot }));
    known = reading;
    reading.catch(() => {
      if (known === reading) known = null;
    });
    return reading;
  };
}

// The harnesses' `nkctl pin`: locks what an edited inventory newly uses with synthetic entries (the simulated nodes fetch nothing).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LOCK_FILE } from "../../shared/src/lock/index.js";
import { addSyntheticLocks } from "../../shared/src/lock/synthetic-lock.js";
import { EXAMPLE_NK_SOURCE } from "../../shared/src/render/test-inventory.js";

/** Rewrites <checkout>/nk.lock when the inventory uses a reference it does not lock; leaves an invalid inventory alone. */
export async function pinSynthetic(checkout: string): Promise<void> {
  const inventory = await readFile(join(checkout, "inventory.yaml"), "utf8");
  const lock = await readFile(join(checkout, LOCK_FILE), "utf8").catch(() => undefined);
  const next = addSyntheticLocks(inventory, lock, EXAMPLE_NK_SOURCE);
  if (next !== null) await writeFile(join(checkout, LOCK_FILE), next);
}

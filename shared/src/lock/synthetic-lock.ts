// Locks in Nix's exact form for references nothing will fetch (the demo, the example, tests): derived from the URL alone.
import { createHash } from "node:crypto";
import { NkError } from "../errors/index.js";
import { validateInventoryText } from "../inventory/validate-repo.js";
import { originalAttrs } from "./flake-ref.js";
import { wantedUrls } from "./locked-inputs.js";
import { parseNkLock, renderNkLock, type LockedInput, type NkLock } from "./nk-lock.js";

/** A fixed commit time: 2024-11-30, when nixos-24.11 was released. */
const LAST_MODIFIED = 1732924800;

function digest(url: string): Buffer {
  return createHash("sha256").update(`nk synthetic lock\0${url}`).digest();
}

/**
 * What `nix flake metadata` would lock `url` to, with a rev and narHash made from the URL: the right form,
 * byte for byte, but no real tree has that hash, so a real build of it fails loudly instead of building.
 * (The synthetic lock of the example inventory; tests and the demo, whose simulated nodes fetch nothing.)
 */
export function syntheticLockedInput(url: string): LockedInput {
  // Forms nk does not model get tarball-shaped attributes: Nix never sees these locks.
  const original = originalAttrs(url) ?? { type: "tarball", url };
  const hash = digest(url);
  const narHash = `sha256-${hash.toString("base64")}`;
  const rev = typeof original.rev === "string" ? original.rev : hash.subarray(0, 20).toString("hex");
  if (original.type === "github") {
    const { ref: _ref, ...rest } = original;
    return { original, locked: { ...rest, lastModified: LAST_MODIFIED, narHash, rev } };
  }
  if (original.type === "git") return { original, locked: { ...original, lastModified: LAST_MODIFIED, narHash, rev, revCount: 1 } };
  return { original, locked: { ...original, narHash } };
}

/** A synthetic nk.lock for `urls`, with `nkSource` as the coordinator's source (locked too). */
export function syntheticLock(urls: readonly string[], nkSource?: string): NkLock {
  const all = [...new Set([...urls, ...(nkSource !== undefined ? [nkSource] : [])])];
  return { ...(nkSource !== undefined ? { nkSource } : {}), locks: new Map(all.map((u) => [u, syntheticLockedInput(u)])) };
}

/** nk.lock text locking what inventory.yaml text asks for (plus `extraUrls`), for harnesses that write inventories. */
export function syntheticLockText(inventoryYaml: string, nkSource: string, extraUrls: readonly string[] = []): string {
  const { inventory } = validateInventoryText(inventoryYaml);
  if (!inventory) throw new NkError("INVENTORY_INVALID", "syntheticLockText needs a valid inventory.yaml");
  const wanted = wantedUrls(inventory, { nkSource, locks: new Map() });
  return renderNkLock(syntheticLock([wanted.nixpkgs, wanted.nk ?? nkSource, ...extraUrls], nkSource));
}

/**
 * `lockText` plus synthetic entries for whatever inventory.yaml now uses and it does not lock (what
 * `nkctl pin` adds, for harnesses whose nodes fetch nothing); null when nothing is missing or the inventory is invalid.
 */
export function addSyntheticLocks(inventoryYaml: string, lockText: string | undefined, nkSource: string): string | null {
  const { inventory } = validateInventoryText(inventoryYaml);
  const lock = lockText === undefined ? { nkSource, locks: new Map<string, LockedInput>() } : parseNkLock(lockText).lock;
  if (!inventory || !lock) return null;
  const wanted = wantedUrls(inventory, lock);
  const missing = [wanted.nixpkgs, wanted.nk ?? nkSource].filter((u) => !lock.locks.has(u));
  if (missing.length === 0 && lock.nkSource !== undefined) return null;
  const locks = new Map([...lock.locks, ...missing.map((u) => [u, syntheticLockedInput(u)] as const)]);
  return renderNkLock({ nkSource: lock.nkSource ?? nkSource, locks });
}

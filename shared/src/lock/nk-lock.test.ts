// nk.lock: how it is read and written, and every message a push or nkctl validate gives for inputs that are not locked.
import { describe, expect, it } from "vitest";
import { formatDiagnostic, validateRepo } from "../inventory/index.js";
import { LOCK_FILE, parseNkLock, renderNkLock } from "./index.js";
import { syntheticLock, syntheticLockText } from "./synthetic-lock.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 pin@laptop";
const SOURCE = "http://10.0.0.2:7080/nk/source/nk-0.1.0.tar.gz";
const INVENTORY = `cluster:
  name: pinned
  nixpkgs: { channel: nixos-24.11 }
  k3s: { token_secret: token }
  admin: { user: root2, ssh_keys: ["${KEY}"] }
  network: { gateway: 10.0.0.1, prefix_length: 24 }
nodes:
  s1: { address: 10.0.0.5, role: server, init: true, boot_device: /dev/vda, interface: eth0 }
`;

function problems(inventory: string, lock?: string): string[] {
  const files = new Map([["inventory.yaml", inventory], ...(lock !== undefined ? [[LOCK_FILE, lock] as const] : [])]);
  const result = validateRepo(files);
  if (result.diagnostics.length === 0) expect(result.inventory).not.toBeNull();
  return result.diagnostics.map(formatDiagnostic);
}

describe("nk.lock", () => {
  it("round-trips: what nkctl pin writes reads back to the same lock, and writing is canonical", () => {
    const lock = syntheticLock(["github:NixOS/nixpkgs/nixos-24.11", "git+file:///srv/chan?ref=main"], SOURCE);
    const text = renderNkLock(lock);
    const parsed = parseNkLock(text);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.lock).toEqual(lock);
    expect(renderNkLock(parsed.lock!)).toBe(text);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.indexOf('"git+file:///srv/chan?ref=main"')).toBeLessThan(text.indexOf('"github:NixOS/nixpkgs/nixos-24.11"'));
  });

  it("passes an inventory whose inputs are all locked", () => {
    expect(problems(INVENTORY, syntheticLockText(INVENTORY, SOURCE))).toEqual([]);
  });

  it("refuses an inventory without nk.lock at each input's line, with the fix", () => {
    expect(problems(INVENTORY)).toEqual([
      "inventory.yaml:2:3 cluster.agent: the nk source is not locked (there is no nk.lock): run nkctl pin (it locks the source the coordinator serves), or set cluster.agent.flake",
      'inventory.yaml:3:12 cluster.nixpkgs: "github:NixOS/nixpkgs/nixos-24.11" is not locked (there is no nk.lock): run nkctl pin',
    ]);
  });

  it("refuses a channel the lock does not lock (a bump without nkctl pin), and names what it does lock", () => {
    const bumped = INVENTORY.replace("nixos-24.11", "nixos-25.05");
    expect(problems(bumped, syntheticLockText(INVENTORY, SOURCE))).toEqual([
      `inventory.yaml:3:12 cluster.nixpkgs: "github:NixOS/nixpkgs/nixos-25.05" is not locked (nk.lock locks "github:NixOS/nixpkgs/nixos-24.11", "${SOURCE}"): run nkctl pin`,
    ]);
  });

  it("refuses an own nk flake that is not locked, at cluster.agent.flake", () => {
    const own = `${INVENTORY.replace("nodes:\n", "  agent: { flake: \"github:me/nk/v2.0.0\", version: 2.0.0 }\nnodes:\n")}`;
    expect(problems(own, syntheticLockText(INVENTORY, SOURCE))).toEqual([
      `inventory.yaml:7:19 cluster.agent.flake: "github:me/nk/v2.0.0" is not locked (nk.lock locks "github:NixOS/nixpkgs/nixos-24.11", "${SOURCE}"): run nkctl pin`,
    ]);
    expect(problems(own, syntheticLockText(own, SOURCE))).toEqual([]);
  });

  it("refuses a version without a flake: the coordinator serves only its own", () => {
    const versioned = INVENTORY.replace("nodes:\n", "  agent: { version: 0.2.0 }\nnodes:\n");
    expect(problems(versioned, syntheticLockText(INVENTORY, SOURCE))).toEqual([
      "inventory.yaml:7:21 cluster.agent.version: only applies with cluster.agent.flake: without one the bundles import the source the coordinator serves (nk 0.1.0; nkctl pin --update nk moves to it)",
    ]);
  });

  it("points into nk.lock for an entry that does not pin its input, or that Nix would resolve again", () => {
    const lock = JSON.parse(syntheticLockText(INVENTORY, SOURCE)) as { locks: Record<string, { locked: Record<string, unknown>; original: Record<string, unknown> }> };
    delete lock.locks["github:NixOS/nixpkgs/nixos-24.11"]!.locked.rev;
    lock.locks[SOURCE]!.original.url = "http://elsewhere/nk.tar.gz";
    expect(problems(INVENTORY, JSON.stringify(lock, null, 2))).toEqual([
      'nk.lock:4:17 locks."github:NixOS/nixpkgs/nixos-24.11".locked: has no rev (a 40-character git commit id): run nkctl pin --update',
      `nk.lock:24:19 locks."${SOURCE}".original: is not what Nix makes of "${SOURCE}" ({"type":"tarball","url":"${SOURCE}"}), so a build would resolve it again: run nkctl pin --update`,
    ]);
    lock.locks[SOURCE]!.original.url = SOURCE;
    lock.locks[SOURCE]!.locked.narHash = "sha256-short";
    expect(problems(INVENTORY, JSON.stringify(lock, null, 2)).at(-1)).toBe(
      `nk.lock:19:17 locks."${SOURCE}".locked: has no narHash (an SRI sha256, "sha256-" and 44 base64 characters): run nkctl pin --update`,
    );
  });

  it("says what is wrong with a lock that is not JSON, or of another version", () => {
    expect(problems(INVENTORY, '{ "locks": {')).toEqual(["nk.lock:1:13 not valid JSON: Flow map in block collection must be sufficiently indented and end with a } (nkctl pin writes this file)"]);
    expect(problems(INVENTORY, '{ "locks": {}, "version": 2 }\n')).toEqual(["nk.lock:1:27 version: is 2; this nk reads version 1: run nkctl pin"]);
  });
});

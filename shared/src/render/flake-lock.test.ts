// flake.lock of a bundle: Nix's exact bytes for the locked inputs, the same on every node, the same on every render.
import { describe, expect, it } from "vitest";
import { renderCluster, renderFlakeLock } from "./index.js";
import { EXAMPLE_NK_SOURCE, exampleInventory, exampleRepoFiles, lockFilesFor, scaledInventory, testInputs, withCluster } from "./test-inventory.js";

const lockOf = (files: readonly { path: string; content: string }[]): string => files.find((f) => f.path === "flake.lock")!.content;

describe("flake.lock", () => {
  it("is Nix's lock file version 7 with sorted keys, two-space indent and a final newline", () => {
    const inputs = testInputs("git+file:///srv/channel?ref=main", "http://127.0.0.1:7080/nk/source/nk-0.1.0.tar.gz");
    const nixpkgs = inputs.nixpkgs.locked;
    expect(renderFlakeLock(inputs)).toBe(`{
  "nodes": {
    "nixpkgs": {
      "locked": {
        "lastModified": 1732924800,
        "narHash": "${String(nixpkgs.narHash)}",
        "ref": "main",
        "rev": "${String(nixpkgs.rev)}",
        "revCount": 1,
        "type": "git",
        "url": "file:///srv/channel"
      },
      "original": {
        "ref": "main",
        "type": "git",
        "url": "file:///srv/channel"
      }
    },
    "nk": {
      "inputs": {
        "nixpkgs": [
          "nixpkgs"
        ]
      },
      "locked": {
        "narHash": "${String(inputs.nk.locked.narHash)}",
        "type": "tarball",
        "url": "http://127.0.0.1:7080/nk/source/nk-0.1.0.tar.gz"
      },
      "original": {
        "type": "tarball",
        "url": "http://127.0.0.1:7080/nk/source/nk-0.1.0.tar.gz"
      }
    },
    "root": {
      "inputs": {
        "nixpkgs": "nixpkgs",
        "nk": "nk"
      }
    }
  },
  "root": "root",
  "version": 7
}
`);
  });

  it("is byte-identical on every node of a revision and on every render, and follows nk.lock", () => {
    const bundles = renderCluster(exampleInventory(), exampleRepoFiles());
    const locks = new Set([...bundles.values()].map((b) => lockOf(b.files)));
    expect(locks.size).toBe(1);
    const lock = JSON.parse([...locks][0]!) as { nodes: Record<string, { locked: Record<string, unknown>; original: Record<string, unknown> }> };
    expect(lock.nodes.nixpkgs!.original).toEqual({ owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" });
    expect(lock.nodes.nk!.locked.url).toBe(EXAMPLE_NK_SOURCE);
    expect(renderCluster(exampleInventory(), exampleRepoFiles())).toEqual(bundles);

    const big = scaledInventory(300);
    expect(new Set([...renderCluster(big, lockFilesFor(big)).values()].map((b) => lockOf(b.files))).size).toBe(1);
  });

  it("changes every bundle when nk.lock moves an input, and only then", () => {
    const before = renderCluster(exampleInventory(), exampleRepoFiles());
    const bumped = withCluster(exampleInventory(), { nixpkgs: { channel: "nixos-25.05" } });
    const after = renderCluster(bumped, exampleRepoFiles());
    for (const [node, b] of after) {
      expect(b.sha256).not.toBe(before.get(node)!.sha256);
      expect(JSON.parse(lockOf(b.files)).nodes.nixpkgs.original.ref).toBe("nixos-25.05");
    }
  });
});

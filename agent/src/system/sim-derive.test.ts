import { expect, it } from "vitest";
import { deriveSystem, initialSystem } from "./sim-derive.js";

const flake = (nk: string, nixpkgs = "github:NixOS/nixpkgs/nixos-24.11") => ({ path: "flake.nix", content: `{\n  inputs.nixpkgs.url = "${nixpkgs}";\n  inputs.nk.url = "${nk}";\n}\n` });

it("derives the agent version from the pinned nk flake and the kernel from the nixpkgs pin", () => {
  const a = deriveSystem("n1", [flake("github:nk-project/nk/v0.1.0")]);
  const b = deriveSystem("n1", [flake("github:nk-project/nk/v0.2.0")]);
  const c = deriveSystem("n1", [flake("github:nk-project/nk/v0.2.0", "github:NixOS/nixpkgs/nixos-25.05")]);
  expect([a.agentVersion, b.agentVersion]).toEqual(["0.1.0", "0.2.0"]);
  expect(a.kernel).toBe(b.kernel);
  expect(c.kernel).not.toBe(b.kernel);
  expect(deriveSystem("n1", [flake("path:/src/nk")]).agentVersion).toBeUndefined();
});

it("reads the version of a coordinator-served source, and takes a new kernel when flake.lock moves nixpkgs", () => {
  expect(deriveSystem("n1", [flake("http://10.0.0.2:7080/nk/source/nk-0.3.1-1a2b3c4d5e6f.tar.gz")]).agentVersion).toBe("0.3.1");
  const lock = (rev: string) => ({ path: "flake.lock", content: JSON.stringify({ nodes: { nixpkgs: { locked: { rev, type: "github" } } }, root: "root", version: 7 }) });
  const before = deriveSystem("n1", [flake("github:nk-project/nk/v0.1.0"), lock("a".repeat(40))]);
  const after = deriveSystem("n1", [flake("github:nk-project/nk/v0.1.0"), lock("b".repeat(40))]);
  expect(after.kernel).not.toBe(before.kernel);
  expect(after.agentVersion).toBe(before.agentVersion);
});

it("derives k3s from the nixpkgs pin: a release bump moves the minor, a commit bump the patch, no k3s.nix no k3s", () => {
  const k3s = { path: "nk/k3s.nix", content: "{ services.k3s.enable = true; }\n" };
  const lock = (rev: string) => ({ path: "flake.lock", content: JSON.stringify({ nodes: { nixpkgs: { locked: { rev, type: "github" } } }, root: "root", version: 7 }) });
  const on = (nixpkgs: string, rev = "a".repeat(40)) => deriveSystem("n1", [flake("github:nk-project/nk/v0.1.0", nixpkgs), lock(rev), k3s]).k3sVersion;
  expect(on("github:NixOS/nixpkgs/nixos-24.05")).toMatch(/^1\.30\.\d\+k3s1$/);
  expect(on("github:NixOS/nixpkgs/nixos-24.11")).toMatch(/^1\.31\.\d\+k3s1$/);
  expect(on("github:NixOS/nixpkgs/nixos-25.05")).toMatch(/^1\.32\.\d\+k3s1$/);
  // Deterministic: the same pin gives the same version on every node.
  expect(on("github:NixOS/nixpkgs/nixos-24.11")).toBe(on("github:NixOS/nixpkgs/nixos-24.11"));
  const patches = new Set(["a", "b", "c", "d", "e", "f"].map((c) => on("github:NixOS/nixpkgs/nixos-24.11", c.repeat(40))));
  expect(patches.size).toBeGreaterThan(1);
  expect(deriveSystem("n1", [flake("github:nk-project/nk/v0.1.0")]).k3sVersion).toBeUndefined();
  expect(initialSystem("n1").k3sVersion).toBeUndefined();
});

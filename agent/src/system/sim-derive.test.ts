import { expect, it } from "vitest";
import { deriveSystem } from "./sim-derive.js";

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

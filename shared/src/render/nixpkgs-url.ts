// The flake reference of the inventory's nixpkgs: a channel on GitHub (optionally at a commit) or any flake.
import { NkError } from "../errors/index.js";
import type { NixpkgsPin } from "../inventory/model.js";

export function nixpkgsUrl(pin: NixpkgsPin): string {
  if (pin.flake !== undefined) return pin.flake;
  if (pin.channel !== undefined) return `github:NixOS/nixpkgs/${pin.rev ?? pin.channel}`;
  throw new NkError("INVENTORY_INVALID", "cluster.nixpkgs needs a channel or a flake");
}

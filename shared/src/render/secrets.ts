// Where bundles expect secrets at runtime, and which secrets a node's bundle refers to.
import { vipCarrierNames } from "../inventory/api-vip.js";
import type { Inventory, NodeSpec } from "../inventory/model.js";

/** The agent writes fetched secrets here (mode 0600, tmpfs), so they never enter the world-readable Nix store. */
export const SECRETS_DIR = "/run/nk/secrets";

export function secretPath(name: string): string {
  return `${SECRETS_DIR}/${name}`;
}

/** Secret names this node's bundle references; the agent may fetch exactly these. */
export function secretNamesFor(inventory: Inventory, node: NodeSpec): string[] {
  // Servers and agents alike join with the cluster token; a host without k3s needs none.
  const token = node.role === "none" ? [] : [inventory.cluster.k3s.tokenSecret];
  const api = inventory.cluster.k3s.api;
  const carries = api !== undefined && vipCarrierNames(api, inventory.nodes).includes(node.name);
  return carries ? [...token, api.vrrpPasswordSecret] : token;
}

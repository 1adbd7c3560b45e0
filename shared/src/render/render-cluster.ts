// Renders bundles: the whole cluster at once, or single nodes against a shared context (re-render only what changed).
import type { Inventory, NodeSpec, RepoFiles } from "../inventory/model.js";
import { guardDeadlineSeconds, renderAgentNix } from "./agent-nix.js";
import { renderBootNix } from "./boot-nix.js";
import { makeBundle, type Bundle, type BundleFile } from "./bundle.js";
import { checksForNode, checksJson } from "./checks-json.js";
import { renderConfigurationNix } from "./configuration-nix.js";
import { renderFlakeNix } from "./flake-nix.js";
import { renderK3sNix } from "./k3s-nix.js";
import { renderKeepalivedNix } from "./keepalived-nix.js";
import { renderNetworkNix } from "./network-nix.js";
import { createRenderContext, type RenderContext } from "./render-context.js";

/** One node's bundle. Touches only this node and the precomputed context: O(size of the bundle). */
export function renderNodeIn(ctx: RenderContext, node: NodeSpec): Bundle {
  const { cluster } = ctx.inventory;
  const nodeFile = ctx.files.get(`nodes/${node.name}.nix`);
  const checks = checksForNode(ctx.checks, node);
  const carriesVip = ctx.vipCarriers.some((c) => c.name === node.name);
  // A carrier without k3s is a load balancer host: the VIP reaches the servers through its haproxy.
  const balancesApi = carriesVip && node.role === "none" && ctx.haproxyNix !== null;
  const files: BundleFile[] = [
    { path: "flake.nix", content: renderFlakeNix(node.name, node.system, ctx.inputs.nixpkgs.url, ctx.inputs.nk.url) },
    { path: "flake.lock", content: ctx.flakeLock },
    {
      path: "configuration.nix",
      content: renderConfigurationNix(cluster, node, {
        commonFiles: ctx.commonFiles.map((f) => f.name),
        hasNodeFile: nodeFile !== undefined,
        carriesVip,
        balancesApi,
      }),
    },
    { path: "nk/agent.nix", content: renderAgentNix(node.name, checks.node, guardDeadlineSeconds(cluster.rollout)) },
    { path: "nk/boot.nix", content: renderBootNix(node.boot) },
    { path: "nk/checks.json", content: checksJson(checks) },
    { path: "nk/network.nix", content: renderNetworkNix(cluster.network, node) },
    { path: "nk/users.nix", content: ctx.usersNix },
  ];
  // A host without k3s (role none) gets the same pipeline, minus k3s.
  if (node.role !== "none") files.push({ path: "nk/k3s.nix", content: renderK3sNix(ctx, node) });
  if (balancesApi && ctx.haproxyNix !== null) files.push({ path: "nk/haproxy.nix", content: ctx.haproxyNix });
  if (carriesVip) files.push({ path: "nk/keepalived.nix", content: renderKeepalivedNix(cluster.k3s.api!, cluster.network.prefixLength, ctx.vipCarriers, node) });
  for (const f of ctx.commonFiles) files.push({ path: `extra/common/${f.name}`, content: f.content });
  if (nodeFile !== undefined) files.push({ path: "extra/node.nix", content: nodeFile });
  // k3s only deploys manifests from servers; agents carry none, so a manifest edit never touches them.
  if (node.role === "server") for (const m of ctx.manifests) files.push({ path: `manifests/${m.name}`, content: m.content });
  return makeBundle(node.name, files);
}

export function renderNode(inventory: Inventory, node: NodeSpec, files: RepoFiles): Bundle {
  return renderNodeIn(createRenderContext(inventory, files), node);
}

function byName(a: NodeSpec, b: NodeSpec): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Every node's bundle, in node-name order whatever order the nodes arrive in. */
export function renderCluster(inventory: Inventory, files: RepoFiles): Map<string, Bundle> {
  const ctx = createRenderContext(inventory, files);
  const out = new Map<string, Bundle>();
  for (const node of [...inventory.nodes].sort(byName)) out.set(node.name, renderNodeIn(ctx, node));
  return out;
}

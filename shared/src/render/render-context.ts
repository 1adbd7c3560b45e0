// Everything a node's bundle shares with the rest of the cluster, computed once so rendering a node is O(that node).
import type { Inventory, NodeSpec, RepoFiles } from "../inventory/model.js";
import { bundleInputs, type BundleInputs } from "../lock/index.js";
import { indexClusterChecks, type ClusterCheckIndex } from "./checks-json.js";
import { renderFlakeLock } from "./flake-lock.js";
import { renderManifestsBlock } from "./k3s-nix.js";
import { apiBackends, renderHaproxyNix } from "./haproxy-nix.js";
import { vipCarriers } from "./keepalived-nix.js";
import { renderUsersNix } from "./users-nix.js";

/** A repo file copied into bundles, by its name inside its folder. */
export interface CopiedFile {
  readonly name: string;
  readonly content: string;
}

export interface RenderContext {
  readonly inventory: Inventory;
  readonly files: RepoFiles;
  /** nixpkgs and nk as nk.lock pins them; the same for every node. */
  readonly inputs: BundleInputs;
  /** flake.lock is the same for every node: rendered once, byte-identical. */
  readonly flakeLock: string;
  /** `common/*.nix`, sorted by name. */
  readonly commonFiles: readonly CopiedFile[];
  /** The bootstrap files of manifests/ (k3s auto-deploy), sorted by name; servers only. The coordinator applies the rest. */
  readonly manifests: readonly CopiedFile[];
  /** The services.k3s.manifests block every server's nk/k3s.nix carries. */
  readonly serverManifestsNix: string;
  /** nk/users.nix is the same for every node. */
  readonly usersNix: string;
  readonly checks: ClusterCheckIndex;
  /** `--disable=X` flags for servers, sorted (a set, so order must not matter). */
  readonly serverDisableFlags: readonly string[];
  /** Nodes carrying the API VIP, in priority order (empty without a VIP). */
  readonly vipCarriers: readonly NodeSpec[];
  /** nk/haproxy.nix, the same on every load balancer host of the API (null without a VIP). */
  readonly haproxyNix: string | null;
}

function byName(a: CopiedFile, b: CopiedFile): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Direct children of `dir/` whose name passes `accept`; deeper files are not part of the layout. */
function filesIn(files: RepoFiles, dir: string, accept: (name: string) => boolean): CopiedFile[] {
  const prefix = `${dir}/`;
  const out: CopiedFile[] = [];
  for (const [path, content] of files) {
    if (!path.startsWith(prefix)) continue;
    const name = path.slice(prefix.length);
    if (name.includes("/") || name === "." || name === ".." || !accept(name)) continue;
    out.push({ name, content });
  }
  return out.sort(byName);
}

function sortedUnique(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}

export function createRenderContext(inventory: Inventory, files: RepoFiles): RenderContext {
  const { cluster } = inventory;
  const bootstrap = new Set(inventory.manifests.bootstrap);
  const manifests = filesIn(files, "manifests", (n) => bootstrap.has(n));
  const inputs = bundleInputs(inventory, files);
  return {
    inventory,
    files,
    inputs,
    flakeLock: renderFlakeLock(inputs),
    commonFiles: filesIn(files, "common", (n) => n.endsWith(".nix")),
    manifests,
    serverManifestsNix: renderManifestsBlock(manifests),
    usersNix: renderUsersNix(cluster.admin),
    checks: indexClusterChecks(cluster.rollout.checks),
    serverDisableFlags: sortedUnique(cluster.k3s.disable).map((d) => `--disable=${d}`),
    vipCarriers: vipCarriers(inventory),
    haproxyNix: cluster.k3s.api ? renderHaproxyNix(cluster.k3s.api, apiBackends(inventory.nodes)) : null,
  };
}

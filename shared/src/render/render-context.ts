// Everything a node's bundle shares with the rest of the cluster, computed once so rendering a node is O(that node).
import { NkError } from "../errors/index.js";
import type { Inventory, NixpkgsPin, NodeSpec, RepoFiles } from "../inventory/model.js";
import { indexClusterChecks, type ClusterCheckIndex } from "./checks-json.js";
import { renderManifestsBlock } from "./k3s-nix.js";
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
  readonly nixpkgsUrl: string;
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
}

export function nixpkgsUrl(pin: NixpkgsPin): string {
  if (pin.flake !== undefined) return pin.flake;
  if (pin.channel !== undefined) return `github:NixOS/nixpkgs/${pin.rev ?? pin.channel}`;
  throw new NkError("INVENTORY_INVALID", "cluster.nixpkgs needs a channel or a flake");
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
  return {
    inventory,
    files,
    nixpkgsUrl: nixpkgsUrl(cluster.nixpkgs),
    commonFiles: filesIn(files, "common", (n) => n.endsWith(".nix")),
    manifests,
    serverManifestsNix: renderManifestsBlock(manifests),
    usersNix: renderUsersNix(cluster.admin),
    checks: indexClusterChecks(cluster.rollout.checks),
    serverDisableFlags: sortedUnique(cluster.k3s.disable).map((d) => `--disable=${d}`),
    vipCarriers: vipCarriers(inventory),
  };
}

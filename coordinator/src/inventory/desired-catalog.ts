// The desired bundle of every node at the adopted revision; re-renders only what a commit changed.
import type { Inventory, NodeSpec, RepoFiles } from "../../../shared/src/inventory/index.js";
import { createRenderContext, renderNodeIn, secretNamesFor, type Bundle } from "../../../shared/src/render/index.js";

export interface NodeDesired {
  readonly node: NodeSpec;
  /** The commit at which this node's bundle last changed (not simply the newest commit). */
  readonly revision: string;
  readonly bundle: Bundle;
  readonly secretNames: readonly string[];
  /** When this bundle became desired (kept while it stays unchanged). */
  readonly adoptedAtMs: number;
}

export interface AdoptResult {
  readonly revision: string;
  /** Nodes whose bundle sha256 changed (or that are new), in name order. */
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: number;
}

/** Inputs that every bundle depends on; when none of them changed, only edited nodes/<name>.nix re-render. */
function sharedInputsKey(files: RepoFiles): string {
  const parts: string[] = [];
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path === "inventory.yaml" || path === "nk.lock" || path.startsWith("common/") || path.startsWith("manifests/")) parts.push(path, content);
  }
  return parts.join("\u0000");
}

export class DesiredCatalog {
  private readonly byNode = new Map<string, NodeDesired>();
  private current: { revision: string; inventory: Inventory; files: RepoFiles; sharedKey: string } | null = null;

  get revision(): string {
    return this.current?.revision ?? "";
  }

  get inventory(): Inventory | null {
    return this.current?.inventory ?? null;
  }

  /** The adopted revision's repo files (manifests/ is applied from them). */
  get files(): RepoFiles | null {
    return this.current?.files ?? null;
  }

  get(node: string): NodeDesired | undefined {
    return this.byNode.get(node);
  }

  nodes(): NodeDesired[] {
    return [...this.byNode.values()];
  }

  /**
   * Adopts a validated revision. `known` carries each node's last desired revision and sha256
   * (from the store), so after a restart an unchanged bundle keeps the revision it first appeared in.
   */
  adopt(revision: string, inventory: Inventory, files: RepoFiles, known: ReadonlyMap<string, { revision: string; sha256: string }> = new Map(), atMs = 0): AdoptResult {
    const sharedKey = sharedInputsKey(files);
    const onlyNodeFiles = this.current !== null && this.current.sharedKey === sharedKey;
    const ctx = createRenderContext(inventory, files);
    const changed: string[] = [];
    let unchanged = 0;
    const next = new Map<string, NodeDesired>();
    for (const node of inventory.nodes) {
      const previous = this.byNode.get(node.name);
      const nodeFile = `nodes/${node.name}.nix`;
      const reuse = onlyNodeFiles && previous !== undefined && this.current!.files.get(nodeFile) === files.get(nodeFile);
      const bundle = reuse ? previous.bundle : renderNodeIn(ctx, node);
      const before = previous ? { revision: previous.revision, sha256: previous.bundle.sha256 } : known.get(node.name);
      const same = before !== undefined && before.sha256 === bundle.sha256;
      next.set(node.name, { node, revision: same ? before.revision : revision, bundle, secretNames: secretNamesFor(inventory, node), adoptedAtMs: same && previous ? previous.adoptedAtMs : atMs });
      if (same) unchanged++;
      else changed.push(node.name);
    }
    const removed = [...this.byNode.keys()].filter((name) => !next.has(name));
    this.byNode.clear();
    for (const [name, desired] of next) this.byNode.set(name, desired);
    this.current = { revision, inventory, files, sharedKey };
    return { revision, changed: changed.sort(), removed: removed.sort(), unchanged };
  }
}

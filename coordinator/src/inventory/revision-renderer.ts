// Renders any revision of the repo on request (nkctl render/diff), with a small cache of recent ones.
import { NkError } from "../../../shared/src/errors/index.js";
import { formatDiagnostic, validateRepo, type RepoFiles } from "../../../shared/src/inventory/index.js";
import { diffBundles, renderCluster, type Bundle, type NodeBundleDiff } from "../../../shared/src/render/index.js";

export interface RepoReader {
  /** Full commit id for a ref or abbreviated id, or null when it does not exist. */
  resolve(ref: string): Promise<string | null>;
  readTree(revision: string): Promise<RepoFiles>;
}

export interface RenderedRevision {
  readonly revision: string;
  readonly bundles: ReadonlyMap<string, Bundle>;
}

const CACHE_SIZE = 4;

export class RevisionRenderer {
  private readonly cache = new Map<string, RenderedRevision>();

  constructor(private readonly repo: RepoReader) {}

  async render(ref: string): Promise<RenderedRevision> {
    const revision = await this.repo.resolve(ref || "main");
    if (!revision) throw new NkError("REVISION_UNKNOWN", `no such revision "${ref}" in the inventory repo`);
    const cached = this.cache.get(revision);
    if (cached) return cached;
    const files = await this.repo.readTree(revision);
    const result = validateRepo(files);
    if (!result.inventory) {
      const problems = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
      throw new NkError("INVENTORY_INVALID", `revision ${revision.slice(0, 12)} does not validate:\n${problems.join("\n")}`);
    }
    const rendered: RenderedRevision = { revision, bundles: renderCluster(result.inventory, files) };
    this.cache.set(revision, rendered);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return rendered;
  }

  async diff(fromRef: string, toRef: string, node?: string): Promise<NodeBundleDiff[]> {
    const [from, to] = [await this.render(fromRef), await this.render(toRef)];
    if (node !== undefined && !from.bundles.has(node) && !to.bundles.has(node)) throw new NkError("NODE_UNKNOWN", `node "${node}" is in neither revision`);
    return diffBundles(from.bundles, to.bundles, node);
  }
}

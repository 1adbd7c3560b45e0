// `nkctl render`: the bundle of every node, from a checkout, a git revision or the coordinator (--remote).
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { validateRepo, type Diagnostic, type Inventory, type RepoFiles } from "../../shared/src/inventory/index.js";
import { renderCluster, type Bundle } from "../../shared/src/render/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { emit, formatTable } from "./output.js";
import { readGitTree } from "./git-tree.js";
import { readRepoDir } from "./repo-files.js";
import { formatDiagnosticIn, summaryLine } from "./validate.js";
import { writeBundlesFor, type BundleView } from "./write-bundles.js";


interface RenderOptions {
  readonly node?: string;
  readonly out?: string;
  readonly force?: boolean;
  readonly revision?: string;
  readonly remote?: boolean;
}


/**
 * Prints the diagnostics of an invalid tree to stderr (prefixed with `label`, paths under `dir` when the tree was read
 * from a checkout) and returns null, else the bundles.
 */
export function renderChecked(ctx: CliContext, files: RepoFiles, label = "", dir = "."): { inventory: Inventory; bundles: Map<string, Bundle> } | null {
  const result = validateRepo(files);
  const prefix = label ? `${label}: ` : "";
  const report = (ds: readonly Diagnostic[]): void => {
    for (const d of ds) ctx.stderr.write(`${prefix}${formatDiagnosticIn(dir, d)}\n`);
  };
  if (!result.inventory) {
    report(result.diagnostics);
    ctx.stderr.write(`${prefix}${summaryLine(result.diagnostics, null)}: not rendered\n`);
    return null;
  }
  report(result.diagnostics);
  return { inventory: result.inventory, bundles: renderCluster(result.inventory, files) };
}

function pickNode<T extends { node: string }>(bundles: readonly T[], node: string | undefined, where: string): T[] {
  if (node === undefined) return [...bundles];
  const found = bundles.filter((b) => b.node === node);
  if (found.length === 0) throw new NkError("NODE_UNKNOWN", `node "${node}" is not in ${where}`);
  return found;
}

async function localBundles(ctx: CliContext, dir: string, opts: RenderOptions): Promise<{ revision?: string; bundles: BundleView[] } | null> {
  let files: RepoFiles;
  let revision: string | undefined;
  if (opts.revision !== undefined) {
    const tree = await readGitTree(dir, opts.revision);
    [files, revision] = [tree.files, tree.revision];
  } else {
    files = await readRepoDir(dir);
  }
  const rendered = renderChecked(ctx, files, revision ? revision.slice(0, 12) : "", revision ? "." : dir);
  if (!rendered) return null;
  const roles = new Map(rendered.inventory.nodes.map((n) => [n.name, n.role]));
  const bundles = [...rendered.bundles.values()].map((b) => ({ node: b.node, role: roles.get(b.node) ?? "", sha256: b.sha256, files: b.files }));
  return { revision, bundles: pickNode(bundles, opts.node, revision ? `revision ${revision.slice(0, 12)}` : `the inventory in ${dir}`) };
}

async function remoteBundles(ctx: CliContext, globals: GlobalOptions, opts: RenderOptions): Promise<{ revision?: string; bundles: BundleView[] }> {
  const res = await withAdmin(ctx, globals, (api) => api.render(opts.revision ?? "", opts.node ?? ""));
  const bundles = res.bundles.map((b) => ({ node: b.node, role: "", sha256: b.bundleSha256, files: b.files.map((f) => ({ path: f.path, content: f.content })) }));
  return { revision: res.revision, bundles: pickNode(bundles, opts.node, `revision ${res.revision.slice(0, 12)}`) };
}

export function registerRender(program: Command, ctx: CliContext): void {
  program
    .command("render")
    .description("render every node's bundle (or one node's) and list them, or write them with --out")
    .argument("[dir]", "the inventory checkout (a git repository with --revision)", ".")
    .option("--node <name>", "only this node")
    .option("--out <dir>", "write <dir>/<node>/<files>")
    .option("--force", "write into a non-empty --out directory, replacing the node folders")
    .option("--revision <rev>", "render this git revision of [dir] (or of the coordinator's repo with --remote)")
    .option("--remote", "let the coordinator render (Render RPC)")
    .addHelpText("after", "\nExits 1 when the inventory has errors (they are printed to stderr), 4 for an unknown node or revision.")
    .action(async (dir: string, opts: RenderOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (opts.remote && cmd.args.length > 0) throw new NkError("INVALID_ARGUMENT", "render --remote takes no [dir]: the coordinator renders its own repo");
      const result = opts.remote ? await remoteBundles(ctx, globals, opts) : await localBundles(ctx, dir, opts);
      if (!result) {
        ctx.exitCode = EXIT.PROBLEMS;
        return;
      }
      if (opts.out !== undefined && !(await writeBundlesFor(ctx, opts.out, result.bundles, opts.force === true))) return;
      const json = { ...(result.revision ? { revision: result.revision } : {}), bundles: result.bundles.map((b) => ({ node: b.node, sha256: b.sha256, files: b.files.map((f) => f.path) })) };
      emit(ctx, globals.output, json, () => {
        const table = formatTable(["NODE", "ROLE", "SHA256", "FILES"], result.bundles.map((b) => [b.node, b.role, b.sha256, b.files.length]));
        const head = result.revision ? `revision ${result.revision}\n` : "";
        const tail = opts.out !== undefined ? `wrote ${result.bundles.length} bundle${result.bundles.length === 1 ? "" : "s"} to ${opts.out}\n` : "";
        return head + table + tail;
      });
    });
}

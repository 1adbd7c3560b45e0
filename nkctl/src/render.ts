// `nkctl render`: the bundle of every node, from a checkout, a git revision or the coordinator (--remote).
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { validateRepo, type Diagnostic, type Inventory, type RepoFiles } from "../../shared/src/inventory/index.js";
import { renderCluster, type Bundle } from "../../shared/src/render/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { fsReason } from "../../shared/src/fs/index.js";
import { emit, formatTable } from "./output.js";
import { readGitTree } from "./git-tree.js";
import { readRepoDir } from "./repo-files.js";
import { formatDiagnosticIn, summaryLine } from "./validate.js";
import { isNodeName } from "../../shared/src/names/index.js";

export interface BundleView {
  readonly node: string;
  /** Empty when the coordinator rendered it (its answer carries no role). */
  readonly role: string;
  readonly sha256: string;
  readonly files: readonly { readonly path: string; readonly content: string | Uint8Array }[];
}

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

/** Safe relative path of a bundle file: no absolute paths, no '..', no empty segments. */
function safePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** Every node name and file path checked before anything is written. */
function checkBundles(bundles: readonly BundleView[]): void {
  for (const b of bundles) {
    if (!isNodeName(b.node)) throw new NkError("INVALID_ARGUMENT", `refusing to write a bundle for node "${b.node}" (not a DNS label)`);
    const bad = b.files.find((f) => !safePath(f.path));
    if (bad) throw new NkError("INVALID_ARGUMENT", `refusing to write ${JSON.stringify(bad.path)} of node ${b.node}: not a plain relative path`);
  }
}

/** `out`'s entries, or none when it does not exist yet; refuses a file or an unreadable folder. */
async function outEntries(out: string): Promise<string[]> {
  const info = await stat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw new NkError("IO", `cannot use --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  if (info === null) return [];
  if (!info.isDirectory()) throw new NkError("INVALID_ARGUMENT", `--out ${out} is a file, not a directory`);
  return readdir(out).catch((err: unknown) => {
    throw new NkError("IO", `cannot read --out ${out}: ${fsReason(err)}`, { cause: err });
  });
}

/**
 * Writes `<out>/<node>/<files>` all or nothing: every node into a staging folder inside `out` first, then each swapped
 * in by rename (the earlier folder renamed aside, so a failed swap puts every node back as it was). An earlier folder
 * that cannot be removed afterwards is left beside the new one and named through `warn`.
 */
export async function writeBundles(out: string, bundles: readonly BundleView[], force: boolean, warn: (line: string) => void = () => undefined): Promise<void> {
  checkBundles(bundles);
  const existing = await outEntries(out);
  if (existing.length > 0 && !force) throw new NkError("INVALID_ARGUMENT", `${out} is not empty (use --force to replace the node folders in it)`);
  await mkdir(out, { recursive: true }).catch((err: unknown) => {
    throw new NkError("IO", `cannot create --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  // A fresh, unique folder (mode 0700): a leftover of an interrupted run under a reused pid (pid 1 in a container)
  // would otherwise have its files, an old enroll-token say, merged into this run's output.
  const staging = await mkdtemp(join(out, ".nk-staging-")).catch((err: unknown) => {
    throw new NkError("IO", `cannot write into --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  const earlier: string[] = [];
  try {
    for (const b of bundles) {
      for (const f of b.files) {
        const path = join(staging, b.node, f.path);
        await mkdir(dirname(path), { recursive: true })
          .then(() => writeFile(path, f.content))
          .catch((err: unknown) => {
            throw new NkError("IO", `cannot write ${join(out, b.node, f.path)}: ${fsReason(err)}; nothing in ${out} was changed`, { cause: err });
          });
      }
      await mkdir(join(staging, b.node), { recursive: true });
    }
    await swapIn(out, staging, bundles, earlier);
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => warn(`nkctl: could not remove the staging folder ${staging}`));
  }
  for (const aside of earlier) {
    await rm(aside, { recursive: true, force: true }).catch((err: unknown) => warn(`nkctl: the earlier folder was replaced but could not be removed: ${aside} (${fsReason(err)})`));
  }
}

/** Renames each staged node folder into `out`, the earlier one aside (listed in `earlier`); undoes all on a failure. */
export async function swapIn(out: string, staging: string, bundles: readonly BundleView[], earlier: string[]): Promise<void> {
  const done: Array<{ node: string; aside: string | null }> = [];
  try {
    for (const b of bundles) {
      const target = join(out, b.node);
      // Beside the target, not in the staging folder: moving a folder to another parent needs write access to it.
      // Named after the staging folder, so a leftover of another run is never in the way.
      const aside = join(out, `.${b.node}.earlier${staging.slice(staging.lastIndexOf("-"))}`);
      const had = await rename(target, aside).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") return false;
          throw new NkError("IO", `cannot replace ${target}: ${fsReason(err)}`, { cause: err });
        },
      );
      done.push({ node: b.node, aside: had ? aside : null });
      await rename(join(staging, b.node), target).catch((err: unknown) => {
        throw new NkError("IO", `cannot write ${target}: ${fsReason(err)}`, { cause: err });
      });
    }
  } catch (err) {
    const stuck: string[] = [];
    for (const { node, aside } of done.reverse()) {
      const target = join(out, node);
      await rename(target, join(staging, node)).catch((e: NodeJS.ErrnoException) => e.code === "ENOENT" || stuck.push(target));
      if (aside) await rename(aside, target).catch(() => stuck.push(`${aside} (the earlier ${node})`));
    }
    const how = stuck.length === 0 ? `; ${out} is as it was` : `; putting the earlier folders back failed for: ${stuck.join(", ")}`;
    throw new NkError("IO", `${(err as Error).message}${how}`, { cause: err });
  }
  earlier.push(...done.flatMap((d) => (d.aside ? [d.aside] : [])));
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
      if (opts.out !== undefined) await writeBundles(opts.out, result.bundles, opts.force === true, (line) => ctx.stderr.write(`${line}\n`));
      const json = { ...(result.revision ? { revision: result.revision } : {}), bundles: result.bundles.map((b) => ({ node: b.node, sha256: b.sha256, files: b.files.map((f) => f.path) })) };
      emit(ctx, globals.output, json, () => {
        const table = formatTable(["NODE", "ROLE", "SHA256", "FILES"], result.bundles.map((b) => [b.node, b.role, b.sha256, b.files.length]));
        const head = result.revision ? `revision ${result.revision}\n` : "";
        const tail = opts.out !== undefined ? `wrote ${result.bundles.length} bundle${result.bundles.length === 1 ? "" : "s"} to ${opts.out}\n` : "";
        return head + table + tail;
      });
    });
}

// `nkctl diff <rev-a> <rev-b>`: what each node's bundle would change between two revisions.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { diffBundles, type NodeBundleDiff } from "../../shared/src/render/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { readGitTree } from "./git-tree.js";
import { emit, plural, short } from "./output.js";
import { renderChecked } from "./render.js";

interface DiffOptions {
  readonly node?: string;
  readonly repo: string;
  readonly exitCode?: boolean;
  readonly remote?: boolean;
}

export function describeChange(d: NodeBundleDiff): string {
  if (!d.fromSha256) return `${d.node}: new node (${short(d.toSha256)})`;
  if (!d.toSha256) return `${d.node}: removed`;
  if (d.fromSha256 === d.toSha256) return `${d.node}: no action needed`;
  return `${d.node}: changes (${short(d.fromSha256)} -> ${short(d.toSha256)})`;
}

/** Per node "no action needed" or the change with its unified diff, then "2 of 5 nodes change". */
export function formatDiffs(diffs: readonly NodeBundleDiff[]): string {
  const changed = diffs.filter((d) => d.fromSha256 !== d.toSha256);
  const parts = diffs.map((d) => {
    const line = `${describeChange(d)}\n`;
    return d.unified ? `${line}${d.unified.endsWith("\n") ? d.unified : `${d.unified}\n`}` : line;
  });
  const total = diffs.length;
  return `${parts.join("")}${changed.length} of ${plural(total, "node")} change\n`;
}

async function localDiff(ctx: CliContext, from: string, to: string, opts: DiffOptions): Promise<{ from: string; to: string; diffs: NodeBundleDiff[] } | null> {
  const [a, b] = [await readGitTree(opts.repo, from), await readGitTree(opts.repo, to)];
  const ra = renderChecked(ctx, a.files, `${from} (${short(a.revision)})`);
  const rb = renderChecked(ctx, b.files, `${to} (${short(b.revision)})`);
  if (!ra || !rb) return null;
  if (opts.node !== undefined && !ra.bundles.has(opts.node) && !rb.bundles.has(opts.node)) {
    throw new NkError("NODE_UNKNOWN", `node "${opts.node}" is in neither revision`);
  }
  return { from: a.revision, to: b.revision, diffs: diffBundles(ra.bundles, rb.bundles, opts.node) };
}

export function registerDiff(program: Command, ctx: CliContext): void {
  program
    .command("diff")
    .description("render two git revisions and show, node by node, what would change")
    .argument("<rev-a>", "the revision to compare from")
    .argument("<rev-b>", "the revision to compare to")
    .option("--node <name>", "only this node")
    .option("--repo <dir>", "the git checkout of the inventory", ".")
    .option("--exit-code", "exit 1 when any node changes")
    .option("--remote", "let the coordinator render both revisions (Diff RPC)")
    .addHelpText("after", "\nExits 1 when a revision does not validate, or with --exit-code when anything differs; 4 for an unknown revision or node.")
    .action(async (from: string, to: string, opts: DiffOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const result = opts.remote
        ? await withAdmin(ctx, globals, async (api) => ({ from, to, diffs: (await api.diff(from, to, opts.node ?? "")).nodes }))
        : await localDiff(ctx, from, to, opts);
      if (!result) {
        ctx.exitCode = EXIT.PROBLEMS;
        return;
      }
      const changed = result.diffs.filter((d) => d.fromSha256 !== d.toSha256);
      const json = {
        from: result.from,
        to: result.to,
        changed: changed.length,
        total: result.diffs.length,
        nodes: result.diffs.map((d) => ({ node: d.node, fromSha256: d.fromSha256, toSha256: d.toSha256, changed: d.fromSha256 !== d.toSha256, unified: d.unified })),
      };
      emit(ctx, globals.output, json, () => formatDiffs(result.diffs));
      if (opts.exitCode && changed.length > 0) ctx.exitCode = EXIT.PROBLEMS;
    });
}

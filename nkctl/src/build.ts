// `nkctl build log <node> [rev]`: the tail of a node's build log as the coordinator keeps it (builders mode).
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { isNodeName } from "../../shared/src/names/index.js";
import type { BuildJobStatus, GetBuildLogResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, short } from "./output.js";

/** A header naming the build, then the log as the builder wrote it (ending in a newline). */
export function formatBuildLog(res: GetBuildLogResponse): string {
  const header = `# build of ${res.node} at ${short(res.revision)}: ${res.state}\n`;
  if (res.log === "") return `${header}# (no log yet${res.state === "queued" || res.state === "building" ? ": the build has not finished" : ""})\n`;
  return `${header}${res.log}${res.log.endsWith("\n") ? "" : "\n"}`;
}

const STATES = ["queued", "building", "pushed", "failed"];

/**
 * `nkctl status` lines for builders mode: per revision the counts by state, then each failed node with its error
 * (`nkctl build log` has the rest). No builds yet is said too, so builders mode always shows.
 */
export function buildLines(builds: readonly BuildJobStatus[]): [string, string][] {
  if (builds.length === 0) return [["builds", "no build jobs yet"]];
  const revisions = [...new Set(builds.map((b) => b.revision))];
  const lines = revisions.map((rev): [string, string] => {
    const jobs = builds.filter((b) => b.revision === rev);
    const counts = STATES.map((s) => [s, jobs.filter((j) => j.state === s).length] as const).filter(([, n]) => n > 0);
    return ["builds", `${short(rev)}: ${counts.map(([s, n]) => `${n} ${s}`).join(", ")}`];
  });
  const failed = builds.filter((b) => b.state === "failed").map((b): [string, string] => ["build failed", `${b.node} @${short(b.revision)}${b.error ? `: ${b.error}` : ""}`]);
  // What each pushed build will take on its node, known before the node fetches (no line once it runs it).
  const expected = builds.filter((b) => b.disruption !== "" && b.disruption !== "no-op").map((b): [string, string] => ["expected", `${b.node} @${short(b.revision)}: ${b.disruptionReason || b.disruption}`]);
  return [...lines, ...failed, ...expected];
}

export function registerBuild(program: Command, ctx: CliContext): void {
  const group = program.command("build").description("builders mode: the coordinator's build jobs");
  group
    .command("log")
    .description("the kept log (its tail) of a node's newest build, or of its build at a revision")
    .argument("<node>", "the node's name")
    .argument("[rev]", "a commit id or a prefix of one (default: the newest build)")
    .action(async (node: string, rev: string | undefined, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!isNodeName(node)) throw new NkError("INVALID_ARGUMENT", `"${node}" is not a node name (a DNS label: lower-case letters, digits, '-')`);
      if (rev !== undefined && !/^[0-9a-f]{4,64}$/.test(rev)) throw new NkError("INVALID_ARGUMENT", `"${rev}" is not a revision (4 to 64 lower-case hex digits of a commit id)`);
      const res = await withAdmin(ctx, globals, (api) => api.getBuildLog(node, rev ?? ""));
      emit(ctx, globals.output, { node: res.node, revision: res.revision, state: res.state, log: res.log }, () => formatBuildLog(res));
    });
}

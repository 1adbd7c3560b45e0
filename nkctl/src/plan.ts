// `nkctl plan [--name N] [commit]`, `plan show|list|delete`: preview what a commit would do to every node (the nodes
// build it and classify the disruption; nothing is applied), then read the plan.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { assertPreviewName } from "../../shared/src/names/index.js";
import type { Plan } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { previewOutcomeFromWire } from "../../shared/src/wire/index.js";
import { withAdmin, type AdminApi } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { pushPreview, resolveRevision } from "./git-tree.js";
import { EXIT } from "./exit-codes.js";
import { emit, formatAgo, formatDeadline, formatDuration, formatTable, short } from "./output.js";

export function planJson(p: Plan): Record<string, unknown> {
  return {
    name: p.name,
    revision: p.revision,
    createdAtMs: p.createdAtMs,
    expiresAtMs: p.expiresAtMs,
    complete: p.complete,
    nodes: p.nodes.map((n) => ({ node: n.node, outcome: previewOutcomeFromWire(n.outcome), reason: n.reason, units: n.units, changes: n.changes, logTail: n.logTail, bundleSha256: n.bundleSha256 })),
    totals: p.totals,
    leases: { reboot: p.rebootLeases, restart: p.restartLeases },
    estimate: { ms: p.estimateMs, basis: p.estimateBasis },
    summary: p.summary,
  };
}

/** Per node OUTCOME and REASON, the totals, leases and estimate; failed builds' last log lines below. */
export function planText(p: Plan, nowMs: number, wide = false): string {
  const head = `plan ${p.name}  revision ${short(p.revision)}  made ${formatAgo(p.createdAtMs, nowMs)}  expires in ${formatDeadline(p.expiresAtMs, nowMs)}${p.complete ? "" : "  (nodes still building)"}\n`;
  const table = formatTable(
    ["NODE", "OUTCOME", "REASON", ...(wide ? ["UNITS", "BUNDLE"] : [])],
    p.nodes.map((n) => [n.node, previewOutcomeFromWire(n.outcome), n.reason, ...(wide ? [n.units.join(",") || "-", short(n.bundleSha256)] : [])]),
  );
  const t = p.totals;
  const lines = [
    `totals    ${t?.reboots ?? 0} reboot, ${t?.restarts ?? 0} restart, ${t?.switches ?? 0} switch, ${t?.failed ?? 0} failed, ${t?.noOps ?? 0} unchanged${t?.pending ? `, ${t.pending} building` : ""}${t?.cancelled ? `, ${t.cancelled} cancelled` : ""}`,
    `leases    ${p.rebootLeases} reboot, ${p.restartLeases} restart`,
    `estimate  ${p.estimateMs > 0 ? `about ${formatDuration(p.estimateMs)}` : "no disruptive step"}: ${p.estimateBasis}`,
  ];
  const logs = p.nodes.filter((n) => n.logTail !== "").map((n) => `\n${n.node} build log (last lines):\n${n.logTail.split("\n").map((l) => `  ${l}`).join("\n")}\n`);
  return `${head}${table}\n${lines.join("\n")}\n${logs.join("")}`;
}

function show(ctx: CliContext, globals: GlobalOptions, p: Plan): void {
  emit(ctx, globals.output, planJson(p), (wide) => planText(p, ctx.now(), wide));
  if (p.totals && p.totals.failed > 0) ctx.exitCode = EXIT.PROBLEMS;
}

async function waitComplete(api: AdminApi, name: string, timeoutMs: number, signal: AbortSignal): Promise<Plan> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const plan = (await api.getPlan(name)).plan;
    if (!plan) throw new NkError("INTERNAL", "GetPlan answered without a plan");
    if (plan.complete || Date.now() >= until || signal.aborted) return plan;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

interface PlanOptions {
  readonly name?: string;
  readonly repo: string;
  readonly remote: string;
  readonly wait: boolean;
  readonly timeout: string;
}

export function registerPlan(program: Command, ctx: CliContext): void {
  const group = program
    .command("plan")
    .description("preview a commit on every node (build-only, nothing applied) and show the disruption plan")
    .argument("[commit]", "the commit to preview (from the checkout --repo)", "HEAD")
    .option("--name <name>", "the preview's name (refs/heads/preview/<name>); default the commit's short id")
    .option("--repo <dir>", "the git checkout of the inventory", ".")
    .option("--remote <remote>", "the checkout's git remote that is the coordinator", "origin")
    .option("--no-wait", "push the preview and return without waiting for the nodes")
    .option("--timeout <seconds>", "how long to wait for every node", "900")
    .action(async (commit: string, opts: PlanOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const sha = await resolveRevision(opts.repo, commit);
      const name = opts.name ?? sha.slice(0, 12);
      assertPreviewName(name);
      const timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new NkError("INVALID_ARGUMENT", `--timeout must be a positive number of seconds, not "${opts.timeout}"`);
      const remote = await pushPreview(opts.repo, opts.remote, sha, name);
      for (const line of remote.split("\n").filter((l) => l.startsWith("remote:"))) ctx.stderr.write(`${line}\n`);
      if (!opts.wait) return void ctx.stderr.write(`preview ${name} pushed; see it with: nkctl plan show ${name}\n`);
      show(ctx, globals, await withAdmin(ctx, globals, (api) => waitComplete(api, name, timeoutS * 1000, ctx.signal)));
    });
  group
    .command("show <name>")
    .description("a preview's plan: per node outcome and reason, totals, leases, estimated rollout time")
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      assertPreviewName(name);
      const plan = (await withAdmin(ctx, globals, (api) => api.getPlan(name))).plan;
      if (!plan) throw new NkError("INTERNAL", "GetPlan answered without a plan");
      show(ctx, globals, plan);
    });
  group
    .command("list")
    .description("every preview plan, newest first, with its summary")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const { plans } = await withAdmin(ctx, globals, (api) => api.listPlans());
      emit(ctx, globals.output, plans.map(planJson), () =>
        plans.length === 0 ? "no preview plan\n" : formatTable(["NAME", "REVISION", "MADE", "SUMMARY"], plans.map((p) => [p.name, short(p.revision), formatAgo(p.createdAtMs, ctx.now()), p.summary])),
      );
    });
  group
    .command("delete <name>")
    .description("drop a preview: its plan, its ref and the nodes' builds of it")
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      assertPreviewName(name);
      await withAdmin(ctx, globals, (api) => api.deletePlan(name));
      emit(ctx, globals.output, { deleted: name }, () => `preview ${name} deleted\n`);
    });
}

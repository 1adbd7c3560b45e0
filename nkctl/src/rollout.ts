// `nkctl rollout status|pause|resume|approve`: the rollout state, and stopping or restarting disruptive steps.
import type { Command } from "commander";
import type { RolloutStatus } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, short } from "./output.js";

export function rolloutState(r: RolloutStatus | undefined): "running" | "paused" | "halted" | "unknown" {
  if (!r) return "unknown";
  return r.halted ? "halted" : r.paused ? "paused" : "running";
}

export function rolloutJson(r: RolloutStatus | undefined): Record<string, unknown> {
  if (!r) return { state: "unknown" };
  return {
    state: rolloutState(r),
    revision: r.revision,
    paused: r.paused,
    pauseReason: r.pauseReason,
    halted: r.halted,
    haltReason: r.haltReason,
    blockedReason: r.blockedReason,
    stage: r.stage,
    nodesTotal: r.nodesTotal,
    nodesConverged: r.nodesConverged,
  };
}

/** `label  value` lines, so status and rollout status read the same. */
export function rolloutLines(r: RolloutStatus | undefined): [string, string][] {
  if (!r) return [["rollout", "unknown (the coordinator sent no rollout state)"]];
  const lines: [string, string][] = [["revision", r.revision ? short(r.revision) : "none yet"]];
  if (r.halted) lines.push(["rollout", `halted: ${r.haltReason || "no reason given"}`]);
  if (r.paused) lines.push(["rollout", `paused: ${r.pauseReason || "no reason given"}`]);
  if (!r.halted && !r.paused) lines.push(["rollout", "running"]);
  if (r.stage) lines.push(["stage", r.stage]);
  if (r.blockedReason) lines.push(["blocked", r.blockedReason]);
  lines.push(["converged", `${r.nodesConverged}/${r.nodesTotal} nodes`]);
  return lines;
}

export function formatFields(lines: readonly [string, string][]): string {
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}

export function registerRollout(program: Command, ctx: CliContext): void {
  const group = program.command("rollout").description("show, pause, resume or approve the rollout");
  const show = (globals: GlobalOptions, r: RolloutStatus | undefined): void => emit(ctx, globals.output, rolloutJson(r), () => formatFields(rolloutLines(r)));

  group
    .command("status")
    .description("revision, paused/halted with reason, what blocks the next grant, converged nodes")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      show(globals, (await withAdmin(ctx, globals, (api) => api.getStatus())).rollout);
    });
  group
    .command("pause")
    .description("stop granting leases (nodes holding one finish their step)")
    .option("--reason <text>", "shown in status and events", "")
    .action(async (opts: { reason: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      show(globals, (await withAdmin(ctx, globals, (api) => api.pauseRollout(opts.reason))).rollout);
    });
  group
    .command("resume")
    .description("resume a paused or halted rollout")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      show(globals, (await withAdmin(ctx, globals, (api) => api.resumeRollout())).rollout);
    });
  group
    .command("approve")
    .description("let the revision go on past its canaries (rollout.canary)")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      show(globals, (await withAdmin(ctx, globals, (api) => api.approveRollout())).rollout);
    });
}

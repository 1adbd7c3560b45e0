// `nkctl lease list|release`: who holds a reboot lease, who waits and why; force-release a stuck one.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { isNodeName } from "../../shared/src/names/index.js";
import type { Lease } from "../../shared/src/proto/gen/nk/v1/common.js";
import { leaseFromWire, type LeaseInfo } from "../../shared/src/wire/index.js";
import { withAdmin } from "./admin-client.js";
import { showView, watchOptions, type WatchOptions } from "./watch.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { emit, formatAgo, formatDeadline, formatOutput, formatTable, formatTime, short } from "./output.js";
import { rolloutJson } from "./rollout.js";

export function isQueued(l: LeaseInfo): boolean {
  return l.state === "queued";
}

/** Held leases: HOLDER SINCE TOKEN STATE DEADLINE-LEFT; wide adds ROLE REVISION REQUESTED DEADLINE (absolute). */
export function heldTable(leases: readonly LeaseInfo[], nowMs: number, wide = false): string {
  return formatTable(
    ["HOLDER", "SINCE", "TOKEN", "STATE", "DEADLINE-LEFT", ...(wide ? ["ROLE", "REVISION", "REQUESTED", "DEADLINE"] : [])],
    leases.map((l) => [
      `${l.node}${l.kind === "reboot" ? "" : ` (${l.kind})`}`,
      formatAgo(l.grantedAtMs, nowMs),
      l.fencingToken,
      l.state,
      formatDeadline(l.phaseDeadlineMs, nowMs),
      ...(wide ? [l.role, short(l.revision), formatAgo(l.requestedAtMs, nowMs), formatTime(l.phaseDeadlineMs)] : []),
    ]),
  );
}

/** The queue in grant order: POS NODE WAITING-FOR/REASON. */
export function queueTable(leases: readonly LeaseInfo[], nowMs: number): string {
  return formatTable(
    ["POS", "NODE", "WAITING-FOR/REASON"],
    [...leases].sort((a, b) => a.queuePosition - b.queuePosition).map((l) => [l.queuePosition, l.node, `${formatAgo(l.requestedAtMs, nowMs).replace(/ ago$/, "")}: ${l.waitingReason || "next in line"}`]),
  );
}

export function leasesJson(leases: readonly Lease[]): { held: LeaseInfo[]; queue: LeaseInfo[] } {
  const infos = leases.map(leaseFromWire);
  return { held: infos.filter((l) => !isQueued(l)), queue: infos.filter(isQueued) };
}

export function registerLease(program: Command, ctx: CliContext): void {
  const group = program.command("lease").description("reboot leases: list holders and the queue, force-release");
  const list = group.command("list").description("held leases with their phase deadline, then the queue with why each node waits");
  watchOptions(list).action(async (opts: WatchOptions, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    await showView(ctx, globals, opts, async (api) => {
      const res = await api.listLeases();
      const { held, queue } = leasesJson(res.leases);
      return formatOutput(globals.output, { held, queue, rollout: rolloutJson(res.rollout) }, (wide) => {
        const now = ctx.now();
        const parts = [held.length > 0 ? heldTable(held, now, wide) : "no lease held\n", queue.length > 0 ? `\n${queueTable(queue, now)}` : "queue empty\n"];
        if (res.rollout?.halted) parts.push(`rollout halted: ${res.rollout.haltReason}\n`);
        else if (res.rollout?.paused) parts.push(`rollout paused: ${res.rollout.pauseReason}\n`);
        if (res.rollout?.blockedReason) parts.push(`next grant blocked: ${res.rollout.blockedReason}\n`);
        return parts.join("");
      });
    });
  });
  group
    .command("release")
    .description("release a node's lease (with --force even mid-drain or mid-reboot: you take responsibility)")
    .argument("<node>", "the lease holder")
    .option("--force", "release even though the node has not come back healthy")
    .option("--reason <text>", "recorded in the events", "")
    .addHelpText("after", "\nExits 1 when the coordinator refuses to release (it says why).")
    .action(async (node: string, opts: { force?: boolean; reason: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!isNodeName(node)) throw new NkError("INVALID_ARGUMENT", `"${node}" is not a node name (a DNS label: lower-case letters, digits, '-')`);
      const res = await withAdmin(ctx, globals, (api) => api.releaseLease({ node, force: opts.force === true, reason: opts.reason }));
      emit(ctx, globals.output, { node, released: res.released, message: res.message }, () => `${res.released ? "released" : "not released"}: ${res.message || node}\n`);
      if (!res.released) ctx.exitCode = EXIT.PROBLEMS;
    });
}

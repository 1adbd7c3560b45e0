// `nkctl status`: the cluster at a glance — revision, rollout state and reasons, convergence, leases.
import type { Command } from "commander";
import { leaseFromWire } from "../../shared/src/wire/index.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { buildLines } from "./build.js";
import { formatDeadline, formatOutput } from "./output.js";
import { leasesJson } from "./lease.js";
import { formatFields, rolloutJson, rolloutLines } from "./rollout.js";
import { showView, watchOptions, type WatchOptions } from "./watch.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  const command = program
    .command("status")
    .description("cluster, revision, rollout state (paused/halted and why, what blocks the next grant), converged nodes, leases");
  watchOptions(command).action(async (opts: WatchOptions, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    await showView(ctx, globals, opts, async (api) => {
      const res = await api.getStatus();
      const address = api.address;
      const { held, queue } = leasesJson(res.leases);
      const json = {
        cluster: res.cluster,
        coordinator: { address, version: res.coordinatorVersion, leader: res.leader },
        warnings: res.warnings,
        rollout: rolloutJson(res.rollout),
        leases: { held, queue },
        ...(res.buildersMode ? { builds: res.builds.map((b) => ({ node: b.node, revision: b.revision, state: b.state, builder: b.builder, error: b.error, disruption: b.disruption, disruptionReason: b.disruptionReason })) } : {}),
      };
      return formatOutput(globals.output, json, () => {
        const now = ctx.now();
        const holders = res.leases.map(leaseFromWire).filter((l) => l.state !== "queued");
        const leaseText =
          holders.length === 0
            ? "none held"
            : holders.map((l) => `${l.node} ${l.state} (token ${l.fencingToken}, deadline ${formatDeadline(l.phaseDeadlineMs, now)})`).join("; ");
        return formatFields([
          ["cluster", res.cluster || "-"],
          ["coordinator", `${address} (version ${res.coordinatorVersion || "?"}${res.leader ? ", leader" : ", not leader"})`],
          ...res.warnings.map((w): [string, string] => ["warning", w]),
          ...rolloutLines(res.rollout),
          ["leases", queue.length > 0 ? `${leaseText}; ${queue.length} queued` : leaseText],
          ...(res.buildersMode ? buildLines(res.builds) : []),
        ]);
      });
    });
  });
}

// `nkctl status`: the cluster at a glance — revision, rollout state and reasons, convergence, leases.
import type { Command } from "commander";
import { leaseFromWire } from "../../shared/src/wire/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, formatDeadline } from "./output.js";
import { leasesJson } from "./lease.js";
import { formatFields, rolloutJson, rolloutLines } from "./rollout.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("cluster, revision, rollout state (paused/halted and why, what blocks the next grant), converged nodes, leases")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const { res, address } = await withAdmin(ctx, globals, async (api) => ({ res: await api.getStatus(), address: api.address }));
      const { held, queue } = leasesJson(res.leases);
      const json = {
        cluster: res.cluster,
        coordinator: { address, version: res.coordinatorVersion, leader: res.leader },
        warnings: res.warnings,
        rollout: rolloutJson(res.rollout),
        leases: { held, queue },
      };
      emit(ctx, globals.output, json, () => {
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
        ]);
      });
    });
}

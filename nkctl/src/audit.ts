// `nkctl audit`: the coordinator's audit lines (who changed what, when, with what outcome), as a table or JSON.
import type { Command } from "commander";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { parseTail } from "./events.js";
import { emit, formatTable } from "./output.js";

interface AuditOptions {
  readonly tail: number;
  readonly token?: string;
  readonly action?: string;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("audit lines of admin actions: token name, time, action, target and outcome")
    .option("--tail <n>", "look at the last n events of the event log (audit lines and others; at most 100000)", parseTail, 1000)
    .option("--token <name>", "only the lines of this token (a node's re-attach is node/<name>)")
    .option("--action <name>", "only this action, e.g. push, PauseRollout, ReattachLease or 'POST /api/v1/rollout/pause'")
    .action(async (opts: AuditOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const events: Event[] = [];
      await withAdmin(ctx, globals, (api) => api.watchEvents({ afterSeq: 0, tail: Math.max(1, opts.tail), follow: false }, { onEvent: (e) => void events.push(e) }, ctx.signal));
      const lines = events
        .filter((e) => e.kind === "audit")
        .map((e) => ({ seq: e.seq, timeMs: e.timeMs, actor: e.fields.actor ?? "", action: e.fields.action ?? "", target: e.fields.target ?? "", outcome: e.fields.outcome ?? "" }))
        .filter((l) => (opts.token === undefined || l.actor === opts.token) && (opts.action === undefined || l.action === opts.action));
      emit(ctx, globals.output, { audit: lines }, () =>
        lines.length === 0 ? "no audit lines\n" : formatTable(["TIME", "TOKEN", "ACTION", "TARGET", "OUTCOME"], lines.map((l) => [new Date(l.timeMs).toISOString(), l.actor, l.action, l.target, l.outcome])),
      );
    });
}

// `nkctl events [-f] [--tail N]`: the coordinator's event log; -f follows (and reconnects) until Ctrl-C.
import { setTimeout as sleep } from "node:timers/promises";
import { InvalidArgumentError, type Command } from "commander";
import { isNkError } from "../../shared/src/errors/index.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { createAdminClient } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { loadConnection } from "./config.js";
import { formatYaml, short } from "./output.js";

const MAX_BACKOFF_MS = 10_000;

export function formatEvent(e: Event): string {
  const fields = Object.entries(e.fields)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => ` ${k}=${/[\s"]/.test(v) ? JSON.stringify(v) : v}`)
    .join("");
  const where = [e.node, e.revision ? `@${short(e.revision)}` : ""].filter(Boolean).join(" ");
  return `${new Date(e.timeMs).toISOString()}  ${e.kind}${where ? `  ${where}` : ""}  ${e.message}${fields}\n`;
}

function eventFields(e: Event): Record<string, unknown> {
  return { seq: e.seq, timeMs: e.timeMs, kind: e.kind, node: e.node, revision: e.revision, message: e.message, fields: e.fields };
}

export function eventJson(e: Event): string {
  return `${JSON.stringify(eventFields(e))}\n`;
}

export function parseTail(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100_000) throw new InvalidArgumentError("expected a whole number up to 100000");
  return Number(value);
}

export function registerEvents(program: Command, ctx: CliContext): void {
  program
    .command("events")
    .description("recent events (leases, phases, pushes, halts); -f keeps following")
    .option("-f, --follow", "keep streaming new events until Ctrl-C (reconnects if the coordinator goes away)")
    .option("--tail <n>", "how many recent events to start with (default: the coordinator's, 50)", parseTail)
    .addHelpText("after", "\nWith -o json, prints one JSON object per line; with -o yaml, one YAML document per event.")
    .action(async (opts: { follow?: boolean; tail?: number }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const api = createAdminClient(await loadConnection(globals, ctx));
      const print = (e: Event): void => {
        ctx.stdout.write(globals.output === "json" ? eventJson(e) : globals.output === "yaml" ? `---\n${formatYaml(eventFields(e))}` : formatEvent(e));
      };
      ctx.handlesInterrupt = opts.follow === true;
      let afterSeq = 0;
      let backoffMs = 500;
      try {
        while (!ctx.signal.aborted) {
          let opened = false;
          try {
            // On a reconnect, continue after the last event seen instead of replaying the tail.
            const req = { afterSeq, tail: afterSeq ? 0 : (opts.tail ?? 0), follow: opts.follow === true };
            const onEvent = (e: Event): void => {
              afterSeq = Math.max(afterSeq, e.seq);
              print(e);
            };
            await api.watchEvents(req, { onEvent, onOpen: () => (opened = true) }, ctx.signal);
            if (!opts.follow) return;
            if (ctx.signal.aborted) return;
            ctx.stderr.write("nkctl: the coordinator ended the event stream, reconnecting\n");
          } catch (err) {
            // Only a stream that once worked is retried: a wrong address or token fails at once.
            if (!opts.follow || !(opened || afterSeq > 0) || !isNkError(err, "UNAVAILABLE")) throw err;
            ctx.stderr.write(`nkctl: ${err.message}; reconnecting\n`);
          }
          await sleep(backoffMs, undefined, { signal: ctx.signal }).catch(() => undefined);
          backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        }
      } finally {
        api.close();
      }
    });
}

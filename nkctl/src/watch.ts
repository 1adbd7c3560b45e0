// --watch: redraw a view on every coordinator event (coalesced) or after an interval, until Ctrl-C or --count draws.
import { InvalidArgumentError, type Command } from "commander";
import { createAdminClient, withAdmin, type AdminApi } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { loadConnection } from "./config.js";

export const DEFAULT_WATCH_INTERVAL_S = 5;
/** Home, then clear the screen: a terminal redraws in place. */
const CLEAR = "\x1b[H\x1b[2J";

export interface WatchOptions {
  readonly watch?: boolean;
  /** Seconds between redraws when no event arrives. */
  readonly interval: number;
  /** Stop after this many draws (default: until Ctrl-C). */
  readonly count?: number;
}

/** What goes between two draws on a pipe: a YAML document marker, nothing between JSON documents, else a blank line. */
export function drawSeparator(output: GlobalOptions["output"]): string {
  return output === "yaml" ? "---\n" : output === "json" ? "" : "\n";
}

function positive(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > max) throw new InvalidArgumentError(`expected a number above 0, at most ${max}`);
    return n;
  };
}

/** Adds -w/--watch, --interval and --count to a command. */
export function watchOptions(cmd: Command): Command {
  return cmd
    .option("-w, --watch", "redraw on every coordinator event and at least every --interval seconds, until Ctrl-C")
    .option("--interval <seconds>", "with --watch, redraw at least this often", positive(3600), DEFAULT_WATCH_INTERVAL_S)
    .option("--count <n>", "with --watch, stop after n draws", (v) => Math.floor(positive(1_000_000)(v)));
}

/** Resolves at the first of: wake(), the timeout, the abort. */
function nextWake(ms: number, signal: AbortSignal, subscribe: (wake: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = subscribe(done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Draws, then waits for a wake-up (an event `subscribe` reports, the interval, or Ctrl-C) and draws
 * again. A terminal is cleared before each draw; a pipe gets the draws one after another, `separator`
 * between them. Ctrl-C ends
 * the loop cleanly (exit 0); the loop is bounded by `count` when given.
 */
export async function watchLoop(ctx: CliContext, options: WatchOptions, draw: () => Promise<string>, subscribe: (wake: () => void) => () => void, separator = "\n"): Promise<number> {
  ctx.handlesInterrupt = true;
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  let draws = 0;
  while (draws < limit && !ctx.signal.aborted) {
    const text = await draw();
    if (ctx.signal.aborted) break;
    ctx.stdout.write(ctx.stdout.isTTY ? `${CLEAR}${text}` : draws > 0 ? `${separator}${text}` : text);
    draws++;
    if (draws < limit) await nextWake(options.interval * 1000, ctx.signal, subscribe);
  }
  return draws;
}

/**
 * Wake-ups from the coordinator's event stream, for watchLoop. The stream is best effort: if it
 * fails, the interval still redraws. It ends when `signal` aborts.
 */
export function eventWakeups(api: AdminApi, signal: AbortSignal): (wake: () => void) => () => void {
  const listeners = new Set<() => void>();
  const follow = async (): Promise<void> => {
    // The newest event first, so that the follow stream starts after it instead of replaying the backlog.
    let latest = 0;
    await api.watchEvents({ afterSeq: 0, tail: 1, follow: false }, { onEvent: (e) => (latest = Math.max(latest, e.seq)) }, signal);
    await api.watchEvents({ afterSeq: latest, tail: 0, follow: true }, { onEvent: () => [...listeners].forEach((l) => l()) }, signal);
  };
  void follow().catch(() => undefined);
  return (wake) => {
    listeners.add(wake);
    return () => listeners.delete(wake);
  };
}

/** Runs a view once (the text `view` makes from one client), or with --watch keeps redrawing it over one connection. */
export async function showView(ctx: CliContext, globals: GlobalOptions, options: WatchOptions, view: (api: AdminApi) => Promise<string>): Promise<void> {
  if (!options.watch) {
    ctx.stdout.write(await withAdmin(ctx, globals, view));
    return;
  }
  const api = createAdminClient(await loadConnection(globals, ctx));
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await watchLoop(ctx, options, () => view(api), eventWakeups(api, stop.signal), drawSeparator(globals.output));
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    stop.abort();
    api.close();
  }
}

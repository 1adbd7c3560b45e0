// Performs the preview machine's effects: write the bundle to its own directory, build it at low priority,
// dry-activate and classify, report. It shares nothing with the ApplyRunner but the System.
import { join } from "node:path";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { PreviewResult } from "../../../shared/src/wire/index.js";
import { interruptedUnits } from "../system/dry-activate.js";
import type { System } from "../system/index.js";
import { classifyPreview } from "./classify-preview.js";
import { PREVIEW_IDLE, previewTransition, type PreviewEffect, type PreviewEvent, type PreviewJob, type PreviewState } from "./preview-transition.js";

export interface PreviewRunnerOptions {
  readonly system: System;
  readonly node: string;
  /** Each preview builds in `<root>/<name>`; its `result` link is the build's GC root. */
  readonly root: string;
  readonly disruptiveUnits: readonly string[];
  /** Fire and forget: sends one node result to the coordinator. */
  readonly report: (result: PreviewResult) => void;
  readonly log: Logger;
  /** How many lines of a failed build's log the report carries. */
  readonly logTailLines?: number;
}

/** The last `n` non-empty lines of a log. */
export function logTail(log: string, n: number): string {
  return log.split("\n").filter((l) => l.trim() !== "").slice(-n).join("\n");
}

export class PreviewRunner {
  private current: PreviewState = PREVIEW_IDLE;
  private chain: Promise<void> = Promise.resolve();
  private task: { readonly ac: AbortController; readonly settled: Promise<unknown> } | null = null;

  constructor(private readonly opts: PreviewRunnerOptions) {}

  get state(): PreviewState {
    return this.current;
  }

  /** Events are handled one after another; resolves once this one's effects are done. */
  dispatch(event: PreviewEvent): Promise<void> {
    const run = this.chain.then(() => this.handle(event));
    this.chain = run.catch((err: unknown) => this.opts.log.error({ err: errorMessage(err), event: event.type }, "preview step failed"));
    return this.chain;
  }

  /** Stops a running build, as at agent shutdown. */
  halt(): void {
    this.task?.ac.abort(new Error("agent stopping"));
    this.task = null;
  }

  private async handle(event: PreviewEvent): Promise<void> {
    const { state, effects } = previewTransition(this.current, event);
    this.current = state;
    for (const effect of effects) await this.perform(effect);
  }

  private async perform(effect: PreviewEffect): Promise<void> {
    const { system, root, log } = this.opts;
    switch (effect.type) {
      case "report":
        log.info({ preview: effect.result.name, outcome: effect.result.outcome, reason: effect.result.reason }, "preview");
        this.opts.report(effect.result);
        return;
      case "abort": {
        const task = this.task;
        this.task = null;
        task?.ac.abort(new Error("preview cancelled"));
        await task?.settled;
        return;
      }
      case "remove":
        try {
          await system.pruneBundles(root, { sha256s: effect.keep ? [effect.keep] : [], systems: [] });
        } catch (err) {
          log.warn({ err: errorMessage(err), root }, "could not remove old preview builds");
        }
        return;
      case "run": {
        const ac = new AbortController();
        const work = this.build(effect.job, ac.signal);
        this.task = { ac, settled: work.catch(() => undefined) };
        void work
          .catch((err: unknown): PreviewResult | null => (ac.signal.aborted ? null : this.failed(effect.job, errorMessage(err), "")))
          .then((result) => {
            if (this.task?.ac === ac) this.task = null;
            if (result && !ac.signal.aborted) void this.dispatch({ type: "finished", result });
          });
        return;
      }
    }
  }

  private failed(job: PreviewJob, error: string, log: string): PreviewResult {
    return { name: job.name, sha256: job.sha256, outcome: "build-failed", reason: error, units: [], changes: [], logTail: logTail(log || error, this.opts.logTailLines ?? 20), systemPath: "" };
  }

  private async build(job: PreviewJob, signal: AbortSignal): Promise<PreviewResult> {
    const { system, node, root, disruptiveUnits } = this.opts;
    const dir = join(root, job.name);
    await system.writeBundle(dir, job.files);
    signal.throwIfAborted();
    const built = await system.build(dir, node, signal, { lowPriority: true });
    if (!built.ok) return this.failed(job, built.error, built.log);
    signal.throwIfAborted();
    const changes = await system.bootChanges(built.systemPath);
    const dry = await system.dryActivate(built.systemPath, signal);
    const currentSystem = await system.currentSystem();
    const c = classifyPreview({ currentSystem, builtSystem: built.systemPath, changes, restartsUnits: interruptedUnits(dry), policy: job.rebootPolicy, disruptiveUnits });
    return { name: job.name, sha256: job.sha256, outcome: c.outcome, reason: c.reason, units: c.units, changes: c.changes, logTail: "", systemPath: built.systemPath };
  }
}

// Self-update: once the system that ships a new agent is confirmed, restart into it (the unit has restartIfChanged = false).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../../shared/src/log/index.js";

/** Exit code that asks the supervisor (systemd, or the demo's) to start the agent again at once. */
export const RESTART_EXIT_CODE = 76;

export interface SelfUpdateWatcherDeps {
  /** The agent this process is (its unit's store path on NixOS, the pinned version under SimSystem). */
  readonly running: string | null;
  /** The agent the current system ships. */
  readonly shipped: () => Promise<string | null>;
  /**
   * Only a confirmed system is restarted into: a switch still being verified may roll back. Returns what is
   * confirmed (the applied bundle's sha256), or null while nothing is.
   */
  readonly confirmed: () => string | null;
  /** self-update.json lands here, for the operator and the e2e test to see what restarted into what. */
  readonly stateDir: string;
  readonly exitProcess: (code: number) => never;
  readonly now: () => number;
  readonly log: Logger;
  readonly intervalMs?: number;
}

/**
 * The shipped agent changes only with the system, so it is read once per newly confirmed system; this re-read
 * covers a switch made outside nk. (Reading it every second cost an idle agent a process spawn a second on NixOS.)
 */
export const SELF_UPDATE_RECHECK_MS = 60_000;

export class SelfUpdateWatcher {
  private timer: NodeJS.Timeout | null = null;
  private readFor: string | null = null;
  private readAt = 0;

  constructor(private readonly deps: SelfUpdateWatcherDeps) {}

  /** Looks once a minute (a switch made outside nk); nk's own switches call nudge() when they are confirmed. */
  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.intervalMs ?? SELF_UPDATE_RECHECK_MS);
    this.timer.unref();
  }

  /**
   * A look right after a phase change (the apply runner's onPhase), on the next turn of the event loop so the
   * runner's state is the new one. Replaces a once-a-second poll that woke every idle agent for nothing.
   */
  nudge(): void {
    setImmediate(() => void this.check().catch((err: unknown) => this.deps.log.warn({ err: String(err) }, "self-update check failed")));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look: restarts (through exitProcess) when a confirmed system ships another agent. */
  async check(): Promise<void> {
    const { running, log } = this.deps;
    const confirmed = this.deps.confirmed();
    if (confirmed === null) return;
    if (confirmed === this.readFor && this.deps.now() - this.readAt < SELF_UPDATE_RECHECK_MS) return;
    this.readFor = confirmed;
    this.readAt = this.deps.now();
    const shipped = await this.deps.shipped();
    if (!shipped || shipped === running) return;
    log.info({ running, shipped }, "restarting into the agent the confirmed system ships");
    await writeFile(join(this.deps.stateDir, "self-update.json"), JSON.stringify({ from: running, to: shipped, atMs: this.deps.now() })).finally(() => this.deps.exitProcess(RESTART_EXIT_CODE));
  }
}

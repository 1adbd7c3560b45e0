// switch-to-configuration in a transient systemd unit, detached from the agent: started, joined after a restart, stopped.
import { NkError } from "../../../shared/src/errors/index.js";
import { abortableSleep } from "../../../shared/src/time/index.js";
import { joinLogs, lastLine, logOf, tailLines } from "./command-output.js";
import type { CommandRunner } from "./command-runner.js";
import { storeHashOf, type ActivationResult } from "./system.js";

/** The unit states in which a transient activation unit is still working. */
const BUSY = new Set(["active", "activating", "deactivating", "reloading"]);

/** The transient unit an activation of `systemPath` runs in: one name per system and action, so a restart can find it. */
export function activationUnit(systemPath: string, action: "switch" | "boot"): string {
  return `nk-${action}-${storeHashOf(systemPath)}`;
}

export class TransientActivation {
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;

  /** `pollMs`: how often to look at an activation that was already running when the agent (re)started. */
  constructor(
    private readonly runner: CommandRunner,
    private readonly pollMs: number,
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>,
    now?: () => number,
  ) {
    this.sleep = sleep ?? abortableSleep;
    this.now = now ?? Date.now;
  }

  /** switch-to-configuration in a transient unit, detached from the agent, waited for. */
  async run(systemPath: string, action: "switch" | "boot", unit: string, opts: { signal?: AbortSignal }): Promise<ActivationResult> {
    const startedSec = Math.floor(this.now() / 1000);
    const r = await this.runner.run(
      [
        "systemd-run",
        "-E",
        "LOCALE_ARCHIVE",
        "-E",
        "NIXOS_INSTALL_BOOTLOADER",
        "--collect",
        "--no-ask-password",
        "--quiet",
        "--service-type=exec",
        `--unit=${unit}`,
        "--wait",
        `${systemPath}/bin/switch-to-configuration`,
        action,
      ],
      opts,
    );
    const log = logOf(r);
    if (r.exitCode === 0) return { ok: true, log };
    // The unit's output went to the journal (no --pipe: the activation must not die with the agent's pipes).
    const journal = await this.runner.run(["journalctl", "--no-pager", "-o", "cat", "-n", "50", `--since=@${startedSec}`, "-u", `${unit}.service`]);
    const said = journal.exitCode === 0 ? journal.stdout : "";
    const why = lastLine(r.stderr) || tailLines(said) || `see journalctl -u ${unit}.service`;
    return { ok: false, error: `switch-to-configuration ${action} exited with ${r.exitCode}: ${why}`, log: joinLogs(log, said) };
  }

  /** True if the unit was running and has now finished. */
  async waitFor(unit: string, signal?: AbortSignal): Promise<boolean> {
    let waited = false;
    for (;;) {
      const r = await this.runner.run(["systemctl", "is-active", `${unit}.service`]);
      if (!BUSY.has(r.stdout.trim())) return waited;
      waited = true;
      await this.sleep(this.pollMs, signal);
    }
  }

  /** `systemd-run --wait` has no timeout of its own; stopping the transient unit ends switch-to-configuration. */
  async stop(systemPath: string): Promise<void> {
    const unit = `${activationUnit(systemPath, "switch")}.service`;
    const r = await this.runner.run(["systemctl", "stop", unit]);
    if (r.exitCode !== 0) throw new NkError("IO", `systemctl stop ${unit} failed (${r.exitCode}): ${lastLine(r.stderr)}`);
  }
}

// The real NixOS driver: nixos-rebuild, nix-env, switch-to-configuration under systemd-run, systemctl.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
// Not through render/index: that would load the whole renderer into every agent.
import { VIP_HANDOVER_FLAG } from "../../../shared/src/render/vip-handover.js";
import { bundleDirNames, writeBundleDir } from "./bundle-dir.js";
import { bundlesToRemove, type BundleKeep } from "./bundle-gc.js";
import { joinLogs, lastLine, logOf, tailLines } from "./command-output.js";
import { EXIT_TIMEOUT, type CommandRunner } from "./command-runner.js";
import { parseDryActivate } from "./dry-activate.js";
import { k3sVersionOfStorePath } from "./k3s-version.js";
import { fetchClosure, type CacheSource } from "./nix-fetch.js";
import { armOneshot, generationOf, trialLoader, type TrialLoader } from "./trial-boot.js";
import { activationUnit, TransientActivation } from "./transient-activation.js";
import type { BootChange, BootPaths } from "../../../shared/src/wire/index.js";
import { type ActivationResult, type BuildOptions, type BuildResult, type CheckRun, type DryActivateResult, type System } from "./system.js";

export interface NixosSystemOptions {
  readonly runner: CommandRunner;
  readonly profile?: string;
  /** How often to look at an activation that was already running when the agent (re)started. */
  readonly pollMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Copied into each bundle before building; default /etc/nixos/hardware-configuration.nix. */
  readonly hardwareConfig?: string;
  /** The clock a failed activation's journal is read from (`journalctl --since`). */
  readonly now?: () => number;
}

export const SYSTEM_PROFILE = "/nix/var/nix/profiles/system";
const BOOT_FILES = ["kernel", "initrd", "kernel-modules"] as const;
/**
 * A preview build: CPU and I/O at idle priority for the evaluation, and one build job at a time for the daemon (root
 * is a trusted user, so the daemon takes max-jobs from the client).
 */
const LOW_PRIORITY = ["nice", "-n", "19", "ionice", "-c", "3"] as const;
const KEEPALIVED = "keepalived.service";
/** Inside the coordinator's start deadline for a granted lease (5 min by default), so the agent's own failure is what halts. */
const ETCD_SNAPSHOT_TIMEOUT_MS = 240_000;

export class NixosSystem implements System {
  private readonly runner: CommandRunner;
  private readonly profile: string;
  private readonly activation: TransientActivation;
  private readonly hardwareConfig: string;

  constructor(options: NixosSystemOptions) {
    this.runner = options.runner;
    this.hardwareConfig = options.hardwareConfig ?? "/etc/nixos/hardware-configuration.nix";
    this.profile = options.profile ?? SYSTEM_PROFILE;
    this.activation = new TransientActivation(options.runner, options.pollMs ?? 2_000, options.sleep, options.now);
  }

  writeBundle(dir: string, files: readonly BundleFile[]): Promise<void> {
    return writeBundleDir(dir, files);
  }

  /** `result` is the link nixos-rebuild registered as an indirect GC root: removing the directory frees its build. */
  async pruneBundles(root: string, keep: BundleKeep): Promise<string[]> {
    const entries = [];
    for (const name of await bundleDirNames(root)) {
      if (keep.sha256s.includes(name)) continue;
      const r = await this.runner.run(["readlink", `${root}/${name}/result`]);
      entries.push({ name, system: r.exitCode === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null });
    }
    const removed: string[] = [];
    const failed: string[] = [];
    for (const name of bundlesToRemove(entries, keep)) {
      const r = await this.runner.run(["rm", "-rf", "--", `${root}/${name}`]);
      if (r.exitCode === 0) removed.push(name);
      else failed.push(`${root}/${name} (${lastLine(r.stderr) || `exit ${r.exitCode}`})`);
    }
    if (failed.length > 0) throw new NkError("IO", `cannot remove old bundles: ${failed.join(", ")}`);
    return removed;
  }

  async build(bundleDir: string, node: string, signal?: AbortSignal, options: BuildOptions = {}): Promise<BuildResult> {
    // The machine's own hardware scan stays on the node; configuration.nix imports it if present (pure evaluation).
    const cp = await this.runner.run(["cp", "--no-preserve=mode,ownership", this.hardwareConfig, `${bundleDir}/hardware-configuration.nix`], { cwd: bundleDir });
    if (cp.exitCode !== 0) {
      const error = `cannot copy ${this.hardwareConfig} into the bundle: ${lastLine(cp.stderr) || `cp exited with ${cp.exitCode}`}`;
      return { ok: false, error, log: logOf(cp) };
    }
    // `path:` so the bundle is taken as plain files, never as part of some enclosing git checkout.
    const rebuild = ["nixos-rebuild", "build", "--flake", `path:${bundleDir}#${node}`];
    const argv = options.lowPriority ? [...LOW_PRIORITY, ...rebuild, "--max-jobs", "1"] : rebuild;
    const r = await this.runner.run(argv, { cwd: bundleDir, ...(signal ? { signal } : {}) });
    const log = logOf(r);
    if (r.exitCode !== 0) return { ok: false, error: lastLine(r.stderr) || `nixos-rebuild exited with ${r.exitCode}`, log };
    // nixos-rebuild build leaves ./result (a GC root) pointing at the system.
    const systemPath = await this.readlink(`${bundleDir}/result`);
    return { ok: true, systemPath, log };
  }

  fetch(bundleDir: string, systemPath: string, cache: CacheSource, signal?: AbortSignal): Promise<BuildResult> {
    return fetchClosure(this.runner, bundleDir, systemPath, cache, signal);
  }

  async dryActivate(systemPath: string, signal?: AbortSignal): Promise<DryActivateResult> {
    const r = await this.runner.run([`${systemPath}/bin/switch-to-configuration`, "dry-activate"], signal ? { signal } : {});
    if (r.exitCode !== 0) throw new NkError("IO", `dry-activate of ${systemPath} failed (${r.exitCode}): ${lastLine(r.stderr)}`);
    return parseDryActivate(`${r.stdout}\n${r.stderr}`);
  }

  /** nixpkgs' autoUpgrade rule, plus switch inhibitors where the systems have them. */
  async needsReboot(systemPath: string): Promise<boolean> {
    for (const f of BOOT_FILES) {
      const [booted, next] = [await this.readlink(`/run/booted-system/${f}`), await this.readlink(`${systemPath}/${f}`)];
      if (booted !== next) return true;
    }
    const [current, next] = [await this.cat("/run/current-system/switch-inhibitors"), await this.cat(`${systemPath}/switch-inhibitors`)];
    return current !== null && next !== null && current !== next;
  }

  /** Like needsReboot, but looks at every part and keeps both store paths. */
  async bootChanges(systemPath: string): Promise<BootChange[]> {
    const changes: BootChange[] = [];
    for (const what of BOOT_FILES) {
      const [from, to] = [await this.readlink(`/run/booted-system/${what}`), await this.readlink(`${systemPath}/${what}`)];
      if (from !== to) changes.push({ what, from, to });
    }
    const [from, to] = [await this.cat("/run/current-system/switch-inhibitors"), await this.cat(`${systemPath}/switch-inhibitors`)];
    if (from !== null && to !== null && from !== to) changes.push({ what: "switch-inhibitors", from, to });
    return changes;
  }

  /** Each link's target, resolved as bootChanges resolves it; null where the booted system has none. */
  async bootedBootPaths(): Promise<BootPaths> {
    const target = async (f: string): Promise<string | null> => {
      const r = await this.runner.run(["readlink", "-e", `/run/booted-system/${f}`]);
      return r.exitCode === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
    };
    return { kernel: await target("kernel"), initrd: await target("initrd"), kernelModules: await target("kernel-modules") };
  }

  switch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult> {
    return this.activate(systemPath, "switch", signal);
  }

  rollbackSwitch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult> {
    return this.activate(systemPath, "switch", signal);
  }

  /** `systemd-run --wait` has no timeout of its own; stopping the transient unit ends switch-to-configuration. */
  stopActivation(systemPath: string): Promise<void> {
    return this.activation.stop(systemPath);
  }

  /**
   * The new system's own boot loader install (as `nixos-rebuild boot`) lists its entry and makes it the default; the
   * last good system's install then makes that the default again (the new entry stays listed: entries come from the
   * profile's generations), and the new entry is armed for one boot. A kernel that never comes up is thus reset into
   * the last good generation, and the agent, back on it, reports "did not boot".
   */
  async bootAndReboot(systemPath: string, fallback: string | null): Promise<ActivationResult> {
    const loader = fallback !== null && fallback !== systemPath ? await trialLoader(this.runner, systemPath) : null;
    if (loader === null || fallback === null) return this.bootThenReboot(systemPath);
    const prepared = await this.activate(systemPath, "boot");
    if (!prepared.ok) return prepared;
    const armed = await this.armTrial(fallback, loader);
    if (!armed.ok) return { ...armed, log: joinLogs(prepared.log, armed.log) };
    return this.reboot(joinLogs(prepared.log, armed.log));
  }

  /** After a trial: the new system's boot loader install makes it the default (the profile points at it already). */
  bless(systemPath: string): Promise<ActivationResult> {
    return this.installBootLoader(systemPath);
  }

  rollbackBootAndReboot(systemPath: string): Promise<ActivationResult> {
    return this.bootThenReboot(systemPath);
  }

  currentSystem(): Promise<string> {
    return this.readlink("/run/current-system");
  }

  bootedSystem(): Promise<string> {
    return this.readlink("/run/booted-system");
  }

  async bootId(): Promise<string> {
    const id = await this.cat("/proc/sys/kernel/random/boot_id");
    if (id === null) throw new NkError("IO", "cannot read /proc/sys/kernel/random/boot_id");
    return id;
  }

  /** The unit file links into the store: a new agent package or unit definition changes its target. */
  async agentIdentity(): Promise<string | null> {
    const r = await this.runner.run(["readlink", "-f", "/etc/systemd/system/nk-agent.service"]);
    return r.exitCode === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
  }

  /** The k3s package the system's environment links (`sw/bin/k3s` → `…-k3s-1.30.4+k3s1/bin/k3s`); null without k3s. */
  async k3sVersion(systemPath: string): Promise<string | null> {
    const r = await this.runner.run(["readlink", "-f", `${systemPath}/sw/bin/k3s`]);
    return r.exitCode === 0 ? k3sVersionOfStorePath(r.stdout) : null;
  }

  async unitActive(name: string): Promise<boolean> {
    const r = await this.runner.run(["systemctl", "is-active", name]);
    return r.stdout.trim() === "active";
  }

  async systemHasUnit(systemPath: string, unit: string): Promise<boolean> {
    // A NixOS system's units are linked under <toplevel>/etc/systemd/system.
    return access(join(systemPath, "etc", "systemd", "system", unit)).then(
      () => true,
      () => false,
    );
  }

  async handOverVip(): Promise<void> {
    await this.mustRun(["touch", VIP_HANDOVER_FLAG]);
    if (await this.unitActive(KEEPALIVED)) await this.mustRun(["systemctl", "stop", KEEPALIVED]);
  }

  async rejoinVip(): Promise<void> {
    await this.mustRun(["rm", "-f", VIP_HANDOVER_FLAG]);
    if (await this.systemHasUnit(await this.currentSystem(), KEEPALIVED)) await this.mustRun(["systemctl", "start", KEEPALIVED]);
  }

  async holdsAddress(address: string): Promise<boolean> {
    const r = await this.runner.run(["ip", "-o", "-4", "addr", "show", "to", `${address}/32`]);
    return r.exitCode === 0 && r.stdout.trim() !== "";
  }

  private async mustRun(argv: readonly string[]): Promise<void> {
    const r = await this.runner.run(argv);
    if (r.exitCode !== 0) throw new NkError("IO", `${argv.join(" ")} failed (${r.exitCode}): ${lastLine(r.stderr)}`);
  }

  /** k3s itself is on the agent's PATH (/run/current-system/sw/bin, where services.k3s puts it). */
  async etcdSnapshot(name: string, signal?: AbortSignal): Promise<ActivationResult> {
    const r = await this.runner.run(["k3s", "etcd-snapshot", "save", "--name", name], { timeoutMs: ETCD_SNAPSHOT_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    if (r.exitCode === 0) return { ok: true, log: logOf(r) };
    const why = r.exitCode === EXIT_TIMEOUT ? `did not finish within ${ETCD_SNAPSHOT_TIMEOUT_MS / 1000} s` : `exited with ${r.exitCode}`;
    const tail = tailLines(r.stderr);
    return { ok: false, error: `k3s etcd-snapshot save ${why}${tail ? `: ${tail}` : ""}`, log: logOf(r) };
  }

  async runCheck(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CheckRun> {
    const r = await this.runner.run(argv, { timeoutMs, ...(signal ? { signal } : {}) });
    return { exitCode: r.exitCode, stdout: r.stdout };
  }

  private async bootThenReboot(systemPath: string): Promise<ActivationResult> {
    const prepared = await this.activate(systemPath, "boot");
    if (!prepared.ok) return prepared;
    return this.reboot(prepared.log);
  }

  private async reboot(log: string): Promise<ActivationResult> {
    const r = await this.runner.run(["systemctl", "reboot"]);
    if (r.exitCode !== 0) return { ok: false, error: `systemctl reboot failed: ${lastLine(r.stderr)}`, log: joinLogs(log, logOf(r)) };
    return { ok: true, log };
  }

  /** The profile's new generation boots once; the default goes back to `fallback`. */
  private async armTrial(fallback: string, loader: TrialLoader): Promise<ActivationResult> {
    const link = await this.runner.run(["readlink", this.profile]);
    const gen = link.exitCode === 0 ? generationOf(this.profile, link.stdout.trim()) : null;
    if (gen === null) return { ok: false, error: `cannot tell the new generation: readlink ${this.profile} gave "${link.stdout.trim() || lastLine(link.stderr)}"`, log: "" };
    const back = await this.installBootLoader(fallback);
    if (!back.ok) return { ...back, error: `making the last good system the boot default again failed: ${back.error}` };
    const once = await armOneshot(this.runner, loader, gen);
    return once.ok ? { ok: true, log: joinLogs(back.log, once.log) } : once;
  }

  /** `switch-to-configuration boot` without touching the profile: installs every generation's entry, this one the default. */
  private async installBootLoader(systemPath: string): Promise<ActivationResult> {
    const unit = activationUnit(systemPath, "boot");
    await this.activation.waitFor(unit);
    return this.activation.run(systemPath, "boot", unit, {});
  }

  /**
   * Sets the profile, then runs switch-to-configuration in a transient unit (as nixos-rebuild
   * does), so a switch that restarts the agent cannot kill the activation. An activation of the
   * same path still running from before an agent restart is joined, not started twice.
   */
  private async activate(systemPath: string, action: "switch" | "boot", signal?: AbortSignal): Promise<ActivationResult> {
    const unit = activationUnit(systemPath, action);
    if (await this.activation.waitFor(unit, signal)) {
      const current = action === "switch" ? await this.currentSystem() : await this.readlink(this.profile);
      return current === systemPath
        ? { ok: true, log: `joined the running activation ${unit}` }
        : { ok: false, error: `activation ${unit} ended without making ${systemPath} ${action === "switch" ? "current" : "the boot default"}`, log: "" };
    }
    const opts = signal ? { signal } : {};
    const set = await this.runner.run(["nix-env", "-p", this.profile, "--set", systemPath], opts);
    if (set.exitCode !== 0) return { ok: false, error: `nix-env --set failed: ${lastLine(set.stderr)}`, log: logOf(set) };
    return this.activation.run(systemPath, action, unit, opts);
  }

  private async readlink(path: string): Promise<string> {
    const r = await this.runner.run(["readlink", "-f", path]);
    if (r.exitCode !== 0 || r.stdout.trim() === "") throw new NkError("IO", `readlink -f ${path} failed: ${lastLine(r.stderr)}`);
    return r.stdout.trim();
  }

  /** File contents, or null if it does not exist. */
  private async cat(path: string): Promise<string | null> {
    const r = await this.runner.run(["cat", path]);
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }
}

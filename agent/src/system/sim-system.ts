// A simulated NixOS in a directory: generations, boot default, reboots and injectable faults, for tests and the demo.
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
import { linkResult, pruneBundleDirs, readBundleDir, writeBundleDir } from "./bundle-dir.js";
import type { BundleKeep } from "./bundle-gc.js";
import type { CommandRunner } from "./command-runner.js";
import { ProcessRunner } from "./process-runner.js";
import { bootChanged, bootChangesOf, deriveSystem, simBootPaths, initialSystem, unitChanges } from "./sim-derive.js";
import { abortableSleep as sleep, unlessAborted } from "../../../shared/src/time/index.js";
import { DEFAULT_DURATIONS, type SimDurations } from "./sim-timing.js";
import type { SimSystemOptions } from "./sim-system-options.js";

export type { SimSystemOptions } from "./sim-system-options.js";
import { simulatedCommand } from "./sim-commands.js";
import { joinLan, lanMachines, readSimVip, SIM_VIP_FILES, simVipHolder, type SimVipView } from "./sim-vip.js";
import { hasFault, readFaults, writeFaults, type FaultKind, type Faults } from "./sim-faults.js";
import { simEtcdSnapshot, simEtcdSnapshots } from "./sim-etcd-snapshot.js";
import type { CacheSource } from "./nix-fetch.js";
import { fetchFromSimCache } from "./sim-cache.js";
import { SimMachineDir } from "./sim-machine-dir.js";
import { KEEPALIVED, SimKeepalived } from "./sim-keepalived.js";
import type { BootChange, BootPaths } from "../../../shared/src/wire/index.js";
import type { ActivationResult, BuildOptions, BuildResult, CheckRun, DryActivateResult, System } from "./system.js";

/** The agent exits with this code when the simulated machine reboots; its supervisor starts it again. */
export const SIM_REBOOT_EXIT_CODE = 75;

export class SimSystem implements System {
  readonly dir: string;
  readonly node: string;
  private readonly scale: number;
  private readonly durations: SimDurations;
  private readonly exitProcess: (code: number) => never;
  private readonly runner: CommandRunner;
  private readonly pollMs: number;
  private readonly lanDir: string | null;
  private readonly activations = new Map<string, Promise<ActivationResult>>();
  /** Activations asked to stop (systemctl stop of their unit): they end, failed, at their next step. */
  private readonly stopping = new Set<string>();
  private readonly disk: SimMachineDir;
  private readonly keepalived: SimKeepalived;
  /** How many builds asked for low priority (previews). */
  lowPriorityBuilds = 0;

  private constructor(options: SimSystemOptions) {
    this.dir = options.dir;
    this.disk = new SimMachineDir(options.dir);
    this.keepalived = new SimKeepalived(this.disk, (system) => this.systemHasUnit(system, KEEPALIVED));
    this.node = options.node;
    this.scale = options.timeScale ?? 1;
    this.durations = { ...DEFAULT_DURATIONS, ...options.durations };
    this.exitProcess = options.exitProcess ?? ((code: number) => process.exit(code));
    this.runner = options.runner ?? new ProcessRunner();
    this.pollMs = options.pollMs ?? 50;
    this.lanDir = options.lanDir ?? null;
  }

  /** Opens the simulated machine in `dir`, installing an initial system (generation 1, first boot) if it is new. */
  static async open(options: SimSystemOptions): Promise<SimSystem> {
    const sim = new SimSystem(options);
    await mkdir(join(sim.dir, "generations"), { recursive: true });
    if (sim.lanDir !== null) await joinLan(sim.lanDir, sim.node, sim.dir);
    await mkdir(join(sim.dir, "store"), { recursive: true });
    if ((await sim.disk.read("boot-id")) === null) await sim.disk.installInitial(initialSystem(sim.node), randomUUID());
    return sim;
  }

  setFaults(faults: Faults): Promise<void> {
    return writeFaults(this.dir, faults);
  }

  writeBundle(dir: string, files: readonly BundleFile[]): Promise<void> {
    return writeBundleDir(dir, files);
  }

  pruneBundles(root: string, keep: BundleKeep): Promise<string[]> {
    return pruneBundleDirs(root, keep);
  }

  /** `lowPriority` is remembered (a test can see that previews asked for it); the simulated build is the same. */
  async build(bundleDir: string, node: string, signal?: AbortSignal, options: BuildOptions = {}): Promise<BuildResult> {
    if (options.lowPriority) this.lowPriorityBuilds++;
    const files = await readBundleDir(bundleDir);
    const meta = deriveSystem(node, files);
    await this.hangWhile("build-hang", meta.bundleSha256, signal);
    await sleep(this.durations.buildMs * this.scale, signal);
    if (!files.some((f) => f.path === "flake.nix")) return { ok: false, error: `error: path:${bundleDir} has no flake.nix`, log: "" };
    if (hasFault(await readFaults(this.dir), "build-error", meta.bundleSha256)) {
      return { ok: false, error: "error: simulated build failure", log: `building the system configuration...\nerror: simulated build failure` };
    }
    await this.disk.saveMeta(meta);
    await linkResult(bundleDir, meta.systemPath);
    return { ok: true, systemPath: meta.systemPath, log: `building the system configuration...\n${meta.systemPath}` };
  }

  /** As NixosSystem.fetch: a record the trusted key did not sign is refused with Nix's words, and nothing is stored. */
  async fetch(bundleDir: string, systemPath: string, cache: CacheSource, signal?: AbortSignal): Promise<BuildResult> {
    await sleep(this.durations.fetchMs * this.scale, signal);
    return fetchFromSimCache(this.disk, bundleDir, systemPath, cache);
  }

  async dryActivate(systemPath: string): Promise<DryActivateResult> {
    return unitChanges(await this.disk.meta(await this.currentSystem()), await this.disk.meta(systemPath));
  }

  async needsReboot(systemPath: string): Promise<boolean> {
    return bootChanged(await this.disk.meta(await this.bootedSystem()), await this.disk.meta(systemPath));
  }

  async bootedBootPaths(): Promise<BootPaths> {
    return simBootPaths(await this.disk.meta(await this.bootedSystem()));
  }

  async bootChanges(systemPath: string): Promise<BootChange[]> {
    return bootChangesOf(await this.disk.meta(await this.bootedSystem()), await this.disk.meta(systemPath));
  }

  /**
   * Like the real driver's transient unit, the activation is detached from the caller: aborting
   * only stops waiting, and a second switch to the same path joins the one in flight.
   */
  switch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult> {
    let work = this.activations.get(systemPath);
    if (!work) {
      work = this.activateNow(systemPath).finally(() => this.activations.delete(systemPath));
      this.activations.set(systemPath, work);
    }
    if (!signal) return work;
    return unlessAborted(work, signal);
  }

  private async activateNow(systemPath: string): Promise<ActivationResult> {
    const failed = await this.prepare(systemPath);
    if (failed) return failed;
    await this.keepalived.afterSwitch(await this.currentSystem(), systemPath);
    const gen = await this.disk.addGeneration(systemPath);
    await this.disk.write("boot-default", String(gen));
    await this.disk.write("current-system", systemPath);
    await this.disk.write("activated-by", "switch");
    return { ok: true, log: `activating the configuration...\ngeneration ${gen}` };
  }

  async stopActivation(systemPath: string): Promise<void> {
    if (this.activations.has(systemPath)) this.stopping.add(systemPath);
  }

  rollbackSwitch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult> {
    return this.switch(systemPath, signal);
  }

  /** Like NixOS with a one-shot boot entry: the new generation boots once, the default stays on `fallback`'s. */
  async bootAndReboot(systemPath: string, fallback: string | null): Promise<ActivationResult> {
    const failed = await this.prepare(systemPath);
    if (failed) return failed;
    const gen = await this.disk.addGeneration(systemPath);
    const back = fallback !== null && fallback !== systemPath ? await this.disk.newestGeneration(fallback) : null;
    if (back === null) {
      await rm(join(this.dir, "boot-oneshot"), { force: true });
      await this.disk.write("boot-default", String(gen));
    } else {
      await this.disk.write("boot-default", String(back));
      await this.disk.write("boot-oneshot", String(gen));
    }
    return this.reboot();
  }

  async bless(systemPath: string): Promise<ActivationResult> {
    const gen = await this.disk.newestGeneration(systemPath);
    if (gen === null) return { ok: false, error: `no generation of ${systemPath} to make the boot default`, log: "" };
    await sleep(this.durations.activateMs * this.scale);
    await this.disk.write("boot-default", String(gen));
    return { ok: true, log: `boot default: generation ${gen}` };
  }

  rollbackBootAndReboot(systemPath: string): Promise<ActivationResult> {
    return this.bootAndReboot(systemPath, null);
  }

  /**
   * Shuts down (rebootMs), comes back with a new boot id on the one-shot entry if one is armed (consumed either way),
   * else on the boot default, and ends the agent process. A one-shot entry whose bundle "never boots" hangs; the
   * watchdog's reset then comes back on the default.
   */
  async reboot(): Promise<never> {
    await this.disk.write(SIM_VIP_FILES.power, "off");
    await sleep(this.durations.rebootMs * this.scale);
    const oneshot = await this.disk.read("boot-oneshot");
    await rm(join(this.dir, "boot-oneshot"), { force: true });
    const defaultGen = (await this.disk.read("boot-default")) ?? "1";
    let gen = defaultGen;
    if (oneshot !== null) {
      const trial = await this.disk.read(join("generations", oneshot, "system"));
      const hangs = trial !== null && hasFault(await readFaults(this.dir), "never-boots", (await this.disk.meta(trial)).bundleSha256);
      if (!hangs) gen = oneshot;
    }
    const system = await this.disk.read(join("generations", gen, "system"));
    if (system === null) throw new NkError("IO", `simulated boot entry ${gen} points at no generation in ${this.dir}`);
    await this.disk.write("booted-system", system);
    await this.disk.write("current-system", system);
    await this.disk.write("activated-by", "boot");
    await this.keepalived.runIfCarried(system);
    await this.disk.write(SIM_VIP_FILES.power, "on");
    await this.disk.write("boot-id", randomUUID());
    return this.exitProcess(SIM_REBOOT_EXIT_CODE);
  }

  async currentSystem(): Promise<string> {
    return this.disk.mustRead("current-system");
  }

  async bootedSystem(): Promise<string> {
    return this.disk.mustRead("booted-system");
  }

  async agentIdentity(): Promise<string | null> {
    return (await this.disk.meta(await this.currentSystem())).agentVersion ?? null;
  }

  async k3sVersion(systemPath: string): Promise<string | null> {
    // Like readlink of a path that is not there: unknown, not an error.
    return (await this.disk.meta(systemPath).catch(() => null))?.k3sVersion ?? null;
  }

  async bootId(): Promise<string> {
    return this.disk.mustRead("boot-id");
  }

  /** k3s is active unless a fault says the current system is unhealthy after the way it was reached. */
  async unitActive(name: string): Promise<boolean> {
    if (name !== "k3s" && name !== "k3s.service") return true;
    const current = await this.disk.meta(await this.currentSystem());
    const kind: FaultKind = (await this.disk.read("activated-by")) === "switch" ? "unhealthy-after-switch" : "unhealthy-after-reboot";
    return !hasFault(await readFaults(this.dir), kind, current.bundleSha256);
  }

  async systemHasUnit(systemPath: string, unit: string): Promise<boolean> {
    return Object.hasOwn((await this.disk.meta(systemPath)).units, unit);
  }

  handOverVip(): Promise<void> {
    return this.keepalived.handOver();
  }

  async rejoinVip(): Promise<void> {
    await this.keepalived.rejoin(await this.currentSystem());
  }

  /** The simulated `ip addr`: this machine is the one the election on its LAN picks (the address is the only VIP). */
  async holdsAddress(_address: string): Promise<boolean> {
    const machines = this.lanDir === null ? new Map([[this.node, this.dir]]) : await lanMachines(this.lanDir);
    return (await simVipHolder(machines)) === this.node;
  }

  /** Where VRRP stands now (see sim-vip.ts): what the recorders elect the holder from. */
  vipView(): Promise<SimVipView> {
    return readSimVip(this.dir);
  }

  etcdSnapshot(name: string): Promise<ActivationResult> {
    return simEtcdSnapshot(this.disk, this.node, name, Date.now());
  }

  /** The etcd snapshot files on the simulated disk (for tests and the demo). */
  etcdSnapshots(): Promise<string[]> {
    return simEtcdSnapshots(this.disk);
  }

  async runCheck(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CheckRun> {
    const simulated = await simulatedCommand(this.dir, argv);
    if (simulated) return simulated;
    const r = await this.runner.run(argv, { timeoutMs, ...(signal ? { signal } : {}) });
    return { exitCode: r.exitCode, stdout: r.stdout };
  }

  /** Generation numbers, oldest first (for tests and the demo). */
  generations(): Promise<number[]> {
    return this.disk.generations();
  }

  bootDefault(): Promise<string> {
    return this.disk.bootDefault();
  }

  /** Activation faults and duration; returns the failure, if any. */
  private async prepare(systemPath: string): Promise<ActivationResult | null> {
    const meta = await this.disk.meta(systemPath);
    const stopped = (): boolean => this.stopping.delete(systemPath);
    while (hasFault(await readFaults(this.dir), "activation-hang", meta.bundleSha256) && !this.stopping.has(systemPath)) await sleep(this.pollMs);
    await sleep(this.durations.activateMs * this.scale);
    if (stopped()) return { ok: false, error: "simulated activation stopped (systemctl stop)", log: "" };
    if (hasFault(await readFaults(this.dir), "activation-error", meta.bundleSha256)) {
      return { ok: false, error: "simulated activation failure: k3s.service failed to start", log: "" };
    }
    return null;
  }

  private async hangWhile(kind: FaultKind, sha256: string | null, signal?: AbortSignal): Promise<void> {
    while (hasFault(await readFaults(this.dir), kind, sha256)) await sleep(this.pollMs, signal);
  }
}

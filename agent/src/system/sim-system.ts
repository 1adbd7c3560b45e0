// A simulated NixOS in a directory: generations, boot default, reboots and injectable faults, for tests and the demo.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, readlink, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
import { bundleDirNames, readBundleDir, writeBundleDir } from "./bundle-dir.js";
import { bundlesToRemove, type BundleKeep } from "./bundle-gc.js";
import type { CommandRunner } from "./command-runner.js";
import { ProcessRunner } from "./process-runner.js";
import { deriveSystem, initialSystem, type SimSystemMeta } from "./sim-derive.js";
import { simulatedCommand } from "./sim-commands.js";
import { joinLan, lanMachines, readSimVip, SIM_VIP_FILES, simVipHolder, type SimVipView } from "./sim-vip.js";
import { hasFault, readFaults, writeFaults, type FaultKind, type Faults } from "./sim-faults.js";
import type { CacheSource } from "./nix-fetch.js";
import { readSimCache } from "./sim-cache.js";
import type { ActivationResult, BuildResult, CheckRun, DryActivateResult, System } from "./system.js";

/** The agent exits with this code when the simulated machine reboots; its supervisor starts it again. */
export const SIM_REBOOT_EXIT_CODE = 75;

export interface SimDurations {
  readonly buildMs: number;
  /** Copying a closure from the (simulated) binary cache. */
  readonly fetchMs: number;
  readonly activateMs: number;
  readonly rebootMs: number;
}

export interface SimSystemOptions {
  readonly dir: string;
  readonly node: string;
  /** Multiplies every simulated duration; 0 makes them instant. */
  readonly timeScale?: number;
  readonly durations?: Partial<SimDurations>;
  /** Ends the agent process at a reboot; defaults to process.exit. */
  readonly exitProcess?: (code: number) => never;
  /** Runs node checks (real programs on the host); defaults to ProcessRunner. */
  readonly runner?: CommandRunner;
  /** How often a hang fault is looked at again, in real ms. */
  readonly pollMs?: number;
  /**
   * The simulated LAN segment: a directory where every machine on it links its own directory under its node name,
   * so the VRRP election (who holds the API VIP) can be seen from each of them. Without it a machine is alone.
   */
  readonly lanDir?: string;
}

const KEEPALIVED = "keepalived.service";
const DEFAULT_DURATIONS: SimDurations = { buildMs: 3_000, fetchMs: 500, activateMs: 1_000, rebootMs: 5_000 };

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

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

  private constructor(options: SimSystemOptions) {
    this.dir = options.dir;
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
    if ((await sim.read("boot-id")) === null) {
      const initial = initialSystem(sim.node);
      await sim.saveMeta(initial);
      await sim.writeGeneration(1, initial.kernel, initial.systemPath);
      await sim.write("boot-default", "1");
      await sim.write("current-system", initial.systemPath);
      await sim.write("booted-system", initial.systemPath);
      await sim.write("activated-by", "boot");
      await sim.write("boot-id", randomUUID());
    }
    return sim;
  }

  setFaults(faults: Faults): Promise<void> {
    return writeFaults(this.dir, faults);
  }

  writeBundle(dir: string, files: readonly BundleFile[]): Promise<void> {
    return writeBundleDir(dir, files);
  }

  async pruneBundles(root: string, keep: BundleKeep): Promise<string[]> {
    const entries = [];
    for (const name of await bundleDirNames(root)) {
      const system = await readlink(join(root, name, "result")).catch(() => null);
      entries.push({ name, system });
    }
    const names = bundlesToRemove(entries, keep);
    for (const name of names) await rm(join(root, name), { recursive: true, force: true });
    return names;
  }

  async build(bundleDir: string, node: string, signal?: AbortSignal): Promise<BuildResult> {
    const files = await readBundleDir(bundleDir);
    const meta = deriveSystem(node, files);
    await this.hangWhile("build-hang", meta.bundleSha256, signal);
    await sleep(this.durations.buildMs * this.scale, signal);
    if (!files.some((f) => f.path === "flake.nix")) return { ok: false, error: `error: path:${bundleDir} has no flake.nix`, log: "" };
    if (hasFault(await readFaults(this.dir), "build-error", meta.bundleSha256)) {
      return { ok: false, error: "error: simulated build failure", log: `building the system configuration...\nerror: simulated build failure` };
    }
    await this.saveMeta(meta);
    // As nixos-rebuild build leaves ./result, the GC root that keeps the build alive until the bundle goes.
    await rm(join(bundleDir, "result"), { force: true });
    await symlink(meta.systemPath, join(bundleDir, "result"));
    return { ok: true, systemPath: meta.systemPath, log: `building the system configuration...\n${meta.systemPath}` };
  }

  /** As NixosSystem.fetch: a record the trusted key did not sign is refused with Nix's words, and nothing is stored. */
  async fetch(bundleDir: string, systemPath: string, cache: CacheSource, signal?: AbortSignal): Promise<BuildResult> {
    await sleep(this.durations.fetchMs * this.scale, signal);
    const entry = await readSimCache(cache.url, systemPath);
    if (entry === null) return { ok: false, error: `cannot fetch ${systemPath} from ${cache.url}: error: path '${systemPath}' is not available in the cache`, log: "" };
    if (entry.signedBy !== cache.publicKey) {
      const log = `error: cannot add path '${systemPath}' because it lacks a valid signature`;
      return { ok: false, error: `refused ${systemPath} from ${cache.url}: not signed by the trusted key ${cache.publicKey.split(":")[0]}`, log };
    }
    await this.saveMeta(entry.meta);
    await rm(join(bundleDir, "result"), { force: true });
    await mkdir(bundleDir, { recursive: true });
    await symlink(systemPath, join(bundleDir, "result"));
    return { ok: true, systemPath, log: `copying path '${systemPath}' from '${cache.url}'...` };
  }

  async dryActivate(systemPath: string): Promise<DryActivateResult> {
    const next = await this.meta(systemPath);
    const current = await this.meta(await this.currentSystem());
    const units = new Set([...Object.keys(next.units), ...Object.keys(current.units)]);
    const result = { stopUnits: [] as string[], restartUnits: [] as string[], reloadUnits: [] as string[], startUnits: [] as string[] };
    for (const unit of [...units].sort()) {
      const [was, will] = [current.units[unit], next.units[unit]];
      if (was === will) continue;
      if (was === undefined) result.startUnits.push(unit);
      else if (will === undefined) result.stopUnits.push(unit);
      else result.restartUnits.push(unit);
    }
    return result;
  }

  async needsReboot(systemPath: string): Promise<boolean> {
    const next = await this.meta(systemPath);
    const booted = await this.meta(await this.bootedSystem());
    return next.kernel !== booted.kernel || next.initrd !== booted.initrd || next.kernelModules !== booted.kernelModules;
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
    return new Promise((resolve, reject) => {
      signal.throwIfAborted();
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      work.then(resolve, reject);
    });
  }

  private async activateNow(systemPath: string): Promise<ActivationResult> {
    const failed = await this.prepare(systemPath);
    if (failed) return failed;
    await this.keepalivedAfterSwitch(await this.currentSystem(), systemPath);
    const gen = await this.addGeneration(systemPath);
    await this.write("boot-default", String(gen));
    await this.write("current-system", systemPath);
    await this.write("activated-by", "switch");
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
    const gen = await this.addGeneration(systemPath);
    const back = fallback !== null && fallback !== systemPath ? await this.newestGeneration(fallback) : null;
    if (back === null) {
      await rm(join(this.dir, "boot-oneshot"), { force: true });
      await this.write("boot-default", String(gen));
    } else {
      await this.write("boot-default", String(back));
      await this.write("boot-oneshot", String(gen));
    }
    return this.reboot();
  }

  async bless(systemPath: string): Promise<ActivationResult> {
    const gen = await this.newestGeneration(systemPath);
    if (gen === null) return { ok: false, error: `no generation of ${systemPath} to make the boot default`, log: "" };
    await sleep(this.durations.activateMs * this.scale);
    await this.write("boot-default", String(gen));
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
    await this.write(SIM_VIP_FILES.power, "off");
    await sleep(this.durations.rebootMs * this.scale);
    const oneshot = await this.read("boot-oneshot");
    await rm(join(this.dir, "boot-oneshot"), { force: true });
    const defaultGen = (await this.read("boot-default")) ?? "1";
    let gen = defaultGen;
    if (oneshot !== null) {
      const trial = await this.read(join("generations", oneshot, "system"));
      const hangs = trial !== null && hasFault(await readFaults(this.dir), "never-boots", (await this.meta(trial)).bundleSha256);
      if (!hangs) gen = oneshot;
    }
    const system = await this.read(join("generations", gen, "system"));
    if (system === null) throw new NkError("IO", `simulated boot entry ${gen} points at no generation in ${this.dir}`);
    await this.write("booted-system", system);
    await this.write("current-system", system);
    await this.write("activated-by", "boot");
    // systemd starts keepalived at boot if the system has it; the hand-over flag, on disk, is still there.
    await this.write(SIM_VIP_FILES.keepalived, (await this.systemHasUnit(system, KEEPALIVED)) ? "active" : "inactive");
    await this.write(SIM_VIP_FILES.power, "on");
    await this.write("boot-id", randomUUID());
    return this.exitProcess(SIM_REBOOT_EXIT_CODE);
  }

  async currentSystem(): Promise<string> {
    return this.mustRead("current-system");
  }

  async bootedSystem(): Promise<string> {
    return this.mustRead("booted-system");
  }

  async agentIdentity(): Promise<string | null> {
    return (await this.meta(await this.currentSystem())).agentVersion ?? null;
  }

  async bootId(): Promise<string> {
    return this.mustRead("boot-id");
  }

  /** k3s is active unless a fault says the current system is unhealthy after the way it was reached. */
  async unitActive(name: string): Promise<boolean> {
    if (name !== "k3s" && name !== "k3s.service") return true;
    const current = await this.meta(await this.currentSystem());
    const kind: FaultKind = (await this.read("activated-by")) === "switch" ? "unhealthy-after-switch" : "unhealthy-after-reboot";
    return !hasFault(await readFaults(this.dir), kind, current.bundleSha256);
  }

  async systemHasUnit(systemPath: string, unit: string): Promise<boolean> {
    return Object.hasOwn((await this.meta(systemPath)).units, unit);
  }

  async handOverVip(): Promise<void> {
    await this.write(SIM_VIP_FILES.handedOver, "1");
    await this.write(SIM_VIP_FILES.keepalived, "inactive");
  }

  async rejoinVip(): Promise<void> {
    await rm(join(this.dir, SIM_VIP_FILES.handedOver), { force: true });
    await this.write(SIM_VIP_FILES.keepalived, (await this.systemHasUnit(await this.currentSystem(), KEEPALIVED)) ? "active" : "inactive");
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

  /** As switch-to-configuration: keepalived starts when the system gains it and stops when it loses it; else it stays as it was. */
  private async keepalivedAfterSwitch(from: string, to: string): Promise<void> {
    const [had, has] = [await this.systemHasUnit(from, KEEPALIVED), await this.systemHasUnit(to, KEEPALIVED)];
    if (had !== has) await this.write(SIM_VIP_FILES.keepalived, has ? "active" : "inactive");
  }

  async runCheck(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CheckRun> {
    const simulated = await simulatedCommand(this.dir, argv);
    if (simulated) return simulated;
    const r = await this.runner.run(argv, { timeoutMs, ...(signal ? { signal } : {}) });
    return { exitCode: r.exitCode, stdout: r.stdout };
  }

  /** Generation numbers, oldest first (for tests and the demo). */
  async generations(): Promise<number[]> {
    return (await readdir(join(this.dir, "generations"))).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  }

  /** The newest generation of `systemPath`, or null if none has it. */
  private async newestGeneration(systemPath: string): Promise<number | null> {
    for (const gen of (await this.generations()).reverse()) {
      if ((await this.read(join("generations", String(gen), "system"))) === systemPath) return gen;
    }
    return null;
  }

  async bootDefault(): Promise<string> {
    return this.mustRead(join("generations", await this.mustRead("boot-default"), "system"));
  }

  /** Activation faults and duration; returns the failure, if any. */
  private async prepare(systemPath: string): Promise<ActivationResult | null> {
    const meta = await this.meta(systemPath);
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

  private async addGeneration(systemPath: string): Promise<number> {
    const gen = ((await this.generations()).at(-1) ?? 0) + 1;
    await this.writeGeneration(gen, (await this.meta(systemPath)).kernel, systemPath);
    return gen;
  }

  /**
   * Written aside and renamed into place, as nix-env switches the profile link: an agent killed half-way (found by
   * the long chaos run) must not leave a generation without a system behind. The staging name is not a number, so
   * `generations()` never lists it.
   */
  private async writeGeneration(gen: number, kernel: string, systemPath: string): Promise<void> {
    const staging = join("generations", `.${gen}.${process.pid}.staging`);
    await this.write(join(staging, "kernel"), kernel);
    await this.write(join(staging, "system"), systemPath);
    await rename(join(this.dir, staging), join(this.dir, "generations", String(gen)));
  }

  private metaFile(systemPath: string): string {
    return join("store", systemPath.slice(systemPath.lastIndexOf("/") + 1), "meta.json");
  }

  private saveMeta(meta: SimSystemMeta): Promise<void> {
    return this.write(this.metaFile(meta.systemPath), JSON.stringify(meta, null, 2));
  }

  private async meta(systemPath: string): Promise<SimSystemMeta> {
    const text = await this.read(this.metaFile(systemPath));
    if (text === null) throw new NkError("IO", `simulated store has no ${systemPath}`);
    return JSON.parse(text) as SimSystemMeta;
  }

  private async read(rel: string): Promise<string | null> {
    try {
      return (await readFile(join(this.dir, rel), "utf8")).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new NkError("IO", `cannot read ${join(this.dir, rel)}`, { cause: err });
    }
  }

  private async mustRead(rel: string): Promise<string> {
    const value = await this.read(rel);
    if (value === null) throw new NkError("IO", `simulated machine in ${this.dir} has no ${rel}`);
    return value;
  }

  /** Write-then-rename, so a reader (another agent process) never sees half a file. */
  private async write(rel: string, content: string): Promise<void> {
    const path = join(this.dir, rel);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, `${content}\n`, 0o644, { durable: false });
  }
}

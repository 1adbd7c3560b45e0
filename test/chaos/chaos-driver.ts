// Performs chaos actions on a chaos cluster: revision pushes (good, bad with injected faults, fixes), kills,
// network cuts and flapping health, and heals it all again; on an HaCluster also etcd cuts, kills and racing pushes.
import type { Faults, FaultKind } from "../../agent/src/system/index.js";
import type { ChaosBase, PushResult } from "./chaos-base.js";
import { HaCluster } from "./ha-cluster.js";
import type { ChaosRecorder } from "./chaos-recorder.js";
import type { BadFault, ChaosAction, PushChange } from "./chaos-schedule.js";
import { readDurableLeases, type LeaseJournal } from "./lease-journal.js";

const CHANNELS = ["nixos-24.11", "nixos-25.05"] as const;
/** A bad change that reaches its node by a reboot (kernel parameter) or by a plain switch (an /etc file). */
const BAD_VIA: Readonly<Record<BadFault, "boot" | "switch">> = {
  "build-error": "switch",
  "activation-error": "boot",
  "unhealthy-after-switch": "switch",
  "unhealthy-after-reboot": "boot",
  // A kernel that hangs: the trial boot's reset comes back on the last good generation.
  "never-boots": "boot",
};

/**
 * What a bad change breaks. A bad /etc file breaks k3s however the bundle is reached: when another change in the same
 * push makes it arrive by a reboot, it must not pass as good, to break only when a later rollback switches back to it
 * (found by the long run, seed 20330867: the node then rightly failed for good, "unhealthy after rollback").
 */
const BAD_FAULTS: Readonly<Record<BadFault, readonly FaultKind[]>> = {
  "build-error": ["build-error"],
  "activation-error": ["activation-error"],
  "unhealthy-after-switch": ["unhealthy-after-switch", "unhealthy-after-reboot"],
  "unhealthy-after-reboot": ["unhealthy-after-reboot"],
  "never-boots": ["never-boots"],
};

interface NodeFile {
  kernel?: string;
  badBoot?: string;
  badSwitch?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** nodes/<node>.nix from its parts; null when it has none. */
function nodeNix(f: NodeFile): string | null {
  const params = [f.kernel && `"nk.chaos=${f.kernel}"`, f.badBoot && `"nk.bad=${f.badBoot}"`].filter(Boolean);
  const lines = [params.length > 0 && `  boot.kernelParams = [ ${params.join(" ")} ];`, f.badSwitch && `  environment.etc."nk-chaos".text = "${f.badSwitch}";`].filter(Boolean);
  return lines.length === 0 ? null : `# chaos: extra settings for this node\n{ ... }:\n{\n${lines.join("\n")}\n}\n`;
}

export class ChaosDriver {
  private counter = 0;
  private channel = 0;
  private k3sExtra = false;
  private readonly nodeFiles = new Map<string, NodeFile>();
  private readonly faults = new Map<string, Record<string, FaultKind[]>>();
  private faultWrites: Promise<unknown> = Promise.resolve();
  private pushes: Promise<unknown> = Promise.resolve();
  /** Violations found while acting (e.g. a coordinator that does not come back). */
  readonly problems: string[] = [];

  constructor(
    private readonly cluster: ChaosBase,
    private readonly recorder: ChaosRecorder,
    /** The file store's journal, settled against state.json at each kill; null on etcd (transactional). */
    private readonly journal: LeaseJournal | null,
  ) {}

  /** Runs one action to its end (a cut or a flap lasts its duration). */
  async perform(action: ChaosAction): Promise<void> {
    const { cluster } = this;
    switch (action.kind) {
      case "push":
        await this.push(action.push);
        return;
      case "coordinator-kill":
        await cluster.killCoordinator(() => this.checkpoint());
        await sleep(action.downMs);
        await this.startCoordinator();
        return;
      case "agent-kill":
        cluster.agents.get(action.node)!.kill();
        return;
      case "net-cut": {
        const proxy = cluster.proxies.get(action.node)!;
        proxy.cut();
        await sleep(action.forMs);
        proxy.restore();
        return;
      }
      case "ceph-warn":
        await cluster.setCeph(action.node, false);
        await sleep(action.forMs);
        await cluster.setCeph(action.node, true);
        return;
      case "etcd-cut":
        return this.ha().cutFromEtcd(action.target, action.forMs, action.drop === true);
      case "etcd-member-kill":
        return this.ha().killEtcdMember(action.member, action.downMs);
      case "etcd-restart":
        return this.ha().restartEtcd(action.downMs);
      case "push-race": {
        const ha = this.ha();
        const [, , refused] = await Promise.all([this.push({ change: "users" }), this.push({ change: "k3s" }), ha.pushToCoordinator(action.coordinator)]);
        if (!refused) this.problems.push(`c${action.coordinator} accepted a push to its own repo although it follows the upstream`);
        return;
      }
    }
  }

  private ha(): HaCluster {
    if (!(this.cluster instanceof HaCluster)) throw new Error("an HA action on a single-coordinator cluster");
    return this.cluster;
  }

  /**
   * `inject` replaces the bad change's own fault (a script may hold it back with a hang first); with `on`, it is
   * injected into that node's new bundle for any other change (e.g. a k3s change whose switch hangs on one server).
   */
  push(change: PushChange, inject?: readonly FaultKind[], on?: string): Promise<PushResult> {
    // One push at a time, edit to acknowledgement: steps overlap, and an edit must neither be read half-written by
    // another push's render nor slip into another push's commit before its fault is injected.
    const run = this.pushes.then(() => this.editAndPush(change, inject, on));
    this.pushes = run.catch(() => undefined);
    return run;
  }

  private async editAndPush(change: PushChange, inject?: readonly FaultKind[], on?: string): Promise<PushResult> {
    const { cluster } = this;
    const n = ++this.counter;
    const tag = `${process.pid}-${n}`;
    switch (change.change) {
      case "nixpkgs":
        this.channel = (this.channel + 1) % CHANNELS.length;
        await cluster.editInventory((doc) => doc.setIn(["cluster", "nixpkgs", "channel"], CHANNELS[this.channel]));
        break;
      case "users":
        await this.newAdminKey(tag);
        break;
      case "k3s":
        this.k3sExtra = !this.k3sExtra;
        await cluster.editInventory((doc) => doc.setIn(["cluster", "k3s", "disable"], this.k3sExtra ? ["traefik", "servicelb"] : ["traefik"]));
        break;
      case "kernel":
        await this.editNodeFile(change.node, (f) => void (f.kernel = tag));
        break;
      case "bad": {
        const via = BAD_VIA[change.fault];
        await this.editNodeFile(change.node, (f) => void (via === "boot" ? (f.badBoot = tag) : (f.badSwitch = tag)));
        // The fault is keyed by the bundle this commit gives the node, so only that bundle is bad.
        await this.injectFault(change.node, (await cluster.renderedShas()).get(change.node)!, inject ?? BAD_FAULTS[change.fault]);
        break;
      }
      case "fix":
        await this.dropBadChanges();
        break;
    }
    if (inject && on !== undefined && change.change !== "bad") await this.injectFault(on, (await cluster.renderedShas()).get(on)!, inject);
    const result = await cluster.push(`chaos ${n}: ${change.change}${"node" in change ? ` ${change.node}` : ""}`);
    this.recorder.recordPush({ sha: result.sha, message: change.change, acked: result.acked, startedAtMs: result.startedAtMs, ...(result.shas && { shas: result.shas }) });
    return result;
  }

  /** Network, coordinator and cluster checks back to normal; injected bundle faults stay. */
  async healInfrastructure(): Promise<void> {
    for (const proxy of this.cluster.proxies.values()) proxy.heal();
    await this.startCoordinator();
    for (const node of this.cluster.options.nodes) await this.cluster.setCeph(node, true);
  }

  /** Removes every injected fault and bad change; the next push is all good. */
  async healFaults(): Promise<void> {
    await this.pushes;
    await this.faultWrites;
    for (const node of this.cluster.options.nodes) await this.cluster.setFaults(node, {});
    this.faults.clear();
    await this.dropBadChanges();
  }

  /** A good revision that changes every node's bundle (a new admin key), pushed until acknowledged. */
  async finalPush(): Promise<PushResult> {
    await this.pushes;
    await this.newAdminKey(`${process.pid}-${++this.counter}-final`);
    let last: PushResult | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      last = await this.cluster.push(`chaos ${this.counter}: final good revision`);
      this.recorder.recordPush({ sha: last.sha, message: "final", acked: last.acked, startedAtMs: last.startedAtMs, ...(last.shas && { shas: last.shas }) });
      if (last.acked) return last;
      await sleep(1_000);
    }
    throw new Error(`the final push was never acknowledged: ${last?.error}`);
  }

  /** Makes one bundle of `node` bad (replacing the faults it had). */
  async injectFault(node: string, sha256: string, kinds: readonly FaultKind[]): Promise<void> {
    const faults = this.faults.get(node) ?? {};
    faults[sha256] = [...kinds];
    this.faults.set(node, faults);
    // One write at a time: pushes overlap, and a slower older write must not land after a newer one.
    const write = this.faultWrites.then(() => this.cluster.setFaults(node, { ...faults }));
    this.faultWrites = write.catch(() => undefined);
    await write;
  }

  /** Faults currently injected, per node (sha256 → kinds). */
  faultsOf(node: string): Faults {
    return this.faults.get(node) ?? {};
  }

  private async startCoordinator(): Promise<void> {
    try {
      await this.cluster.startCoordinator();
    } catch (err) {
      this.problems.push(`coordinator did not start again: ${(err as Error).message.slice(0, 500)}`);
      throw err;
    }
  }

  /** Right after a kill -9 (nothing else writes now): settle the journal against state.json. */
  private async checkpoint(): Promise<void> {
    if (!this.journal) return;
    await this.journal.readNew();
    this.journal.reconcile(await readDurableLeases(this.journal.stateDir), Date.now());
  }

  private async newAdminKey(tag: string): Promise<void> {
    const key = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIChaosKeyForTestsOnly000000000000000000000 chaos-${tag}`;
    await this.cluster.editInventory((doc) => doc.setIn(["cluster", "admin", "ssh_keys"], [key]));
  }

  private async editNodeFile(node: string, edit: (f: NodeFile) => void): Promise<void> {
    const f = this.nodeFiles.get(node) ?? {};
    edit(f);
    this.nodeFiles.set(node, f);
    await this.cluster.writeRepoFile(`nodes/${node}.nix`, nodeNix(f));
  }

  private async dropBadChanges(): Promise<void> {
    for (const node of [...this.nodeFiles.keys()]) {
      await this.editNodeFile(node, (f) => {
        delete f.badBoot;
        delete f.badSwitch;
      });
    }
  }
}

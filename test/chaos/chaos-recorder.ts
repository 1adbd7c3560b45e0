// What the chaos test observes for itself, without asking the coordinator: agent exits (from the supervisor),
// boot-id changes and, for clusters with an API VIP, its holder (both polled from the simulated machines) and which
// pushes git acknowledged.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simVipHolder } from "../../agent/src/system/index.js";
import type { AgentExit } from "../../demo/agent-supervisor.js";
import type { VipSample } from "./vip-invariant.js";

export interface ExitRecord {
  readonly node: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly atMs: number;
}

/** A boot id changed somewhere in (afterMs, atMs]: between two polls. */
export interface BootChange {
  readonly node: string;
  readonly afterMs: number;
  readonly atMs: number;
}

export interface PushRecord {
  readonly sha: string;
  readonly message: string;
  readonly acked: boolean;
  readonly startedAtMs: number;
  /** When git push returned. */
  readonly atMs: number;
  /** Each node's bundle sha256 at this commit (none when it does not validate). */
  readonly shas?: ReadonlyMap<string, string>;
}

export class ChaosRecorder {
  readonly exits: ExitRecord[] = [];
  readonly bootChanges: BootChange[] = [];
  readonly pushes: PushRecord[] = [];
  /** Every poll's VIP holder, when constructed with `{ vip: true }`. */
  readonly vipSamples: VipSample[] = [];
  private readonly bootIds = new Map<string, { id: string; atMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly simDirs: ReadonlyMap<string, string>,
    private readonly options: { readonly vip?: boolean } = {},
  ) {}

  onAgentExit = (exit: AgentExit, atMs: number): void => {
    this.exits.push({ node: exit.node, code: exit.code, signal: exit.signal, atMs });
  };

  recordPush(push: Omit<PushRecord, "atMs">): void {
    this.pushes.push({ ...push, atMs: Date.now() });
  }

  /** Polls every node's boot-id file; a change is pinned between the previous poll and this one. */
  startBootPoll(intervalMs = 50): void {
    const tick = (): void => {
      void this.pollOnce().finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
  }

  /** One poll now (also used right before checking, so no change is left unseen); polls never overlap. */
  pollOnce(): Promise<void> {
    this.polling = this.polling.then(() => this.poll());
    return this.polling;
  }

  private async poll(): Promise<void> {
    // Bounds that hold whatever the scheduling: the old id was read after `startMs`, the new one before `endMs`.
    const startMs = Date.now();
    const ids = await Promise.all([...this.simDirs].map(async ([node, dir]) => [node, (await readFile(join(dir, "boot-id"), "utf8").catch(() => "")).trim()] as const));
    // Only clusters with a VIP pay for reading the election (a few small files per machine).
    const holder = this.options.vip ? await simVipHolder(this.simDirs) : undefined;
    const endMs = Date.now();
    if (holder !== undefined) this.vipSamples.push({ fromMs: startMs, toMs: endMs, holder });
    for (const [node, id] of ids) {
      const seen = this.bootIds.get(node);
      // A fresh machine writes its first boot id at its first start: that is not a reboot.
      if (seen && id && seen.id !== id) this.bootChanges.push({ node, afterMs: seen.atMs, atMs: endMs });
      if (id) this.bootIds.set(node, { id, atMs: startMs });
    }
  }
}

// Keeps the rollout events of the journal in memory, with the git facts of their revisions, for the status page's timeline.
import { ChangeSignal } from "../fleet/change-signal.js";
import type { EventView, StatusSource } from "./cluster-snapshot.js";
import { deriveRollouts, isRolloutEvent, type CommitFacts, type RevisionRollout } from "./derive-rollouts.js";

export interface RolloutJournalOptions {
  readonly events: Pick<StatusSource, "recentEvents" | "subscribeEvents">;
  /** Author and subject of a revision; null when git does not know it. */
  readonly commits?: (revision: string) => Promise<CommitFacts | null>;
  /** Events read at start and kept (default 5000): enough for the last several rollouts of a large fleet. */
  readonly keep?: number;
}

export class RolloutJournal {
  private readonly keep: number;
  private events: EventView[] = [];
  private loading: Promise<void> | null = null;
  private readonly commits = new Map<string, CommitFacts>();
  private readonly asked = new Set<string>();
  /** Fires when commit facts arrive after the events that named them. */
  readonly changed = new ChangeSignal();

  constructor(private readonly opts: RolloutJournalOptions) {
    this.keep = opts.keep ?? 5000;
  }

  /** The newest `limit` rollouts; the first call reads the journal, later ones only derive. */
  async rollouts(limit: number): Promise<RevisionRollout[]> {
    this.loading ??= this.load();
    await this.loading;
    return deriveRollouts(this.events, this.commits).slice(0, limit);
  }

  private async load(): Promise<void> {
    // Listen first, so that nothing appended while the tail is read is missed; duplicates merge by seq.
    this.opts.events.subscribeEvents((e) => this.add([e]));
    this.add(await this.opts.events.recentEvents(this.keep));
  }

  private add(events: readonly EventView[]): void {
    const fresh = events.filter((e) => isRolloutEvent(e.kind));
    if (fresh.length === 0) return;
    const bySeq = new Map(this.events.map((e) => [e.seq, e]));
    for (const e of fresh) bySeq.set(e.seq, e);
    this.events = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-this.keep);
    for (const e of fresh) if (e.kind === "revision-adopted") this.lookUp(e.revision);
  }

  private lookUp(revision: string): void {
    const commits = this.opts.commits;
    if (!commits || this.asked.has(revision)) return;
    this.asked.add(revision);
    // A revision git cannot describe (garbage-collected, malformed) just shows no author.
    void commits(revision).then(
      (facts) => {
        if (!facts) return;
        this.commits.set(revision, facts);
        this.changed.emit();
      },
      () => undefined,
    );
  }
}

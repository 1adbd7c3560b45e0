// The rollout journal: reads the tail once, follows appends, keeps only rollout events, and asks git once per revision.
import { describe, expect, it } from "vitest";
import type { EventView } from "./cluster-snapshot.js";
import { RolloutJournal } from "./rollout-journal.js";

const R1 = "1111111111111111111111111111111111111111";

function ev(seq: number, kind: string, node = ""): EventView {
  return { seq, timeMs: 1_000_000 + seq * 1000, kind, node, revision: R1, message: kind === "lease-phase" ? "granted → rebooting" : kind, fields: kind === "revision-adopted" ? { changed: "n1" } : {} };
}

/** An event log in memory: what was appended before, and listeners for what comes after. */
class MemoryEvents {
  readonly listeners = new Set<(e: EventView) => void>();
  reads = 0;
  constructor(readonly log: EventView[]) {}
  async recentEvents(limit: number): Promise<readonly EventView[]> {
    this.reads += 1;
    return this.log.slice(-limit);
  }
  subscribeEvents(listener: (e: EventView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  append(e: EventView): void {
    this.log.push(e);
    for (const l of this.listeners) l(e);
  }
}

describe("RolloutJournal", () => {
  it("derives from the tail read once and from every event appended after", async () => {
    const events = new MemoryEvents([ev(1, "node-enrolled", "n1"), ev(2, "revision-adopted"), ev(3, "lease-granted", "n1")]);
    const asked: string[] = [];
    let release!: () => void;
    const answered = new Promise<void>((r) => (release = r));
    const journal = new RolloutJournal({
      events,
      commits: async (rev) => {
        asked.push(rev);
        await answered;
        return { author: "Alice", email: "a@example.test", subject: "first" };
      },
    });
    const changes: number[] = [];
    journal.changed.subscribe(() => changes.push(1));

    const [first] = await journal.rollouts(5);
    expect(first).toMatchObject({ revision: R1, commit: null, outcome: "rolling-out" });
    expect(first!.nodes[0]!.spans.map((s) => s.phase)).toEqual(["granted"]);

    events.append(ev(4, "lease-phase", "n1"));
    events.append(ev(4, "lease-phase", "n1")); // delivered twice: merged by seq
    events.append(ev(5, "lease-released", "n1"));
    events.append(ev(6, "node-applied", "n1"));
    release();
    await answered;
    await new Promise((r) => setImmediate(r));

    const [now] = await journal.rollouts(5);
    expect(now).toMatchObject({ commit: { author: "Alice" }, outcome: "converged", reboots: 1 });
    expect(now!.nodes[0]!.spans.map((s) => s.phase)).toEqual(["granted", "rebooting"]);
    expect(events.reads).toBe(1);
    expect(asked).toEqual([R1]);
    expect(changes).toEqual([1]);
  });

  it("keeps at most `keep` rollout events, the newest", async () => {
    const log = [ev(1, "revision-adopted"), ...Array.from({ length: 10 }, (_, i) => ev(i + 2, "lease-queued", `n${i}`))];
    const journal = new RolloutJournal({ events: new MemoryEvents(log), keep: 4 });
    const [r] = await journal.rollouts(5);
    // The adoption fell out: the revision is dated by its oldest kept event.
    expect(r!.nodes.map((n) => n.node)).toEqual(["n6", "n7", "n8", "n9"]);
    expect(r!.adoptedAtMs).toBe(log[7]!.timeMs);
  });
});

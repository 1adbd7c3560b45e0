// What a follower coordinator shows of leases and the rollout: the leader's records, read back from the shared store
// whenever the journal says something changed. Without it a follower's status kept the rollout as it was when this
// coordinator last changed role (a halt the leader recorded later showed as "running"; found by the HA chaos run).
import type { Logger } from "../../../shared/src/log/index.js";
import type { LeaseView } from "../status/index.js";
import type { LeaseRecord, LeaseRequest, RolloutRecord, Store } from "../store/index.js";
import { fleetLockView, heldView, queuedView } from "./lease-views.js";

export class FollowerView {
  private leases: LeaseRecord[] = [];
  private requests: LeaseRequest[] = [];
  rollout: RolloutRecord = {};
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly deps: { readonly store: Store; readonly log: Logger; readonly changed: () => void }) {}

  /**
   * Reads the records again; calls made while a read runs fold into one more read after it, so a burst of events
   * costs two reads, and the last read always starts after the last call.
   */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const { store } = this.deps;
          [this.leases, this.requests, this.rollout] = await Promise.all([store.listLeases(), store.listQueue(), store.getRollout()]);
          this.deps.changed();
        } catch (err) {
          // The next event or leadership change reads again; until then the last picture stands.
          this.deps.log.debug({ err }, "follower could not read the leader's leases and rollout");
        }
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  held(): LeaseView[] {
    return [...this.leases.map((l) => heldView(l, undefined)), ...(this.rollout.fleetLocks ?? []).map(fleetLockView)];
  }

  queue(): LeaseView[] {
    return this.requests.map((r, i) => queuedView(r, i + 1, "", undefined));
  }
}

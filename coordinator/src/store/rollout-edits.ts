// The rollout record's changes, checked once here; every store backend applies them the same way.
import { checkedInput } from "./lease-rules.js";
import type { AdoptingMark, CanaryMark, RevisionMove, RolloutRecord } from "./store.js";
import { checkCanary } from "./state-codec.js";
import { str } from "./validate.js";

export type RolloutEdit = (record: RolloutRecord) => void;

export const rolloutEdits = {
  revision(revision: string, move: RevisionMove, atMs: number): RolloutEdit {
    const rev = checkedInput(str, revision, "revision");
    const mark: AdoptingMark | undefined = move.adopting === undefined ? undefined : { revision: rev, atMs, id: checkedInput(str, move.adopting, "adopting") };
    return (r) => {
      if (r.revision === rev) return;
      if (move.expected && r.revision !== move.expected.revision) return;
      r.revision = rev;
      if (mark) r.adopting = { ...mark };
      if (move.liftHalt) delete r.halted;
    };
  },
  adopted(mark: AdoptingMark): RolloutEdit {
    const id = checkedInput(str, mark.id, "mark.id");
    return (r) => {
      if (r.adopting?.id === id) delete r.adopting;
    };
  },
  pause(reason: string, atMs: number): RolloutEdit {
    const why = checkedInput(str, reason, "reason");
    return (r) => void (r.paused = { reason: why, atMs });
  },
  resume(): RolloutEdit {
    return (r) => void delete r.paused;
  },
  /** `onlyIfCurrent`: no change unless `revision` is still the rollout's, decided in the same atomic update. */
  halt(reason: string, revision: string, atMs: number, onlyIfCurrent = false): RolloutEdit {
    const halted = { reason: checkedInput(str, reason, "reason"), revision: checkedInput(str, revision, "revision") };
    return (r) => {
      if (onlyIfCurrent && r.revision !== undefined && r.revision !== halted.revision) return;
      r.halted = { ...halted, atMs };
    };
  },
  canaryMark(revision: string, mark: CanaryMark): RolloutEdit {
    const checked = checkedInput(checkCanary, { revision, nodes: [], confirmed: [], ...mark }, "canary");
    return (r) => {
      if (r.revision !== revision) return;
      const stored = r.canary?.revision === revision ? r.canary : { revision, nodes: [], confirmed: [] };
      r.canary = { ...stored, ...(checked.waitingSinceMs !== undefined ? { waitingSinceMs: checked.waitingSinceMs } : {}), ...(checked.approvedAtMs !== undefined ? { approvedAtMs: checked.approvedAtMs } : {}) };
    };
  },
  clearHalt(): RolloutEdit {
    return (r) => void delete r.halted;
  },
  /** A lease was given back: the settle time before the next grant counts from here. */
  released(atMs: number): RolloutEdit {
    return (r) => void (r.lastReleaseAtMs = atMs);
  },
};

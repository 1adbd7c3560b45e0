// The rollout record's changes, checked once here; every store backend applies them the same way.
import { checkedInput } from "./lease-rules.js";
import { randomBytes } from "node:crypto";
import type { AdoptingMark, CanaryRecord, RevisionMove, RolloutRecord } from "./store.js";
import { checkCanary } from "./state-codec.js";
import { str } from "./validate.js";

export type RolloutEdit = (record: RolloutRecord) => void;

/** A fresh adoption mark: its own id, so only the adoption that holds it clears it. */
const newMark = (revision: string, atMs: number): AdoptingMark => ({ revision, atMs, id: randomBytes(6).toString("hex") });

export const rolloutEdits = {
  revision(revision: string, move: RevisionMove, atMs: number): RolloutEdit {
    const rev = checkedInput(str, revision, "revision");
    const mark = newMark(rev, atMs);
    return (r) => {
      if (r.revision === rev) return;
      if (move.expected && r.revision !== move.expected.revision) return;
      r.revision = rev;
      if (move.adopting) r.adopting = { ...mark };
      if (move.liftHalt) delete r.halted;
    };
  },
  adopting(revision: string, atMs: number): RolloutEdit {
    const mark = newMark(checkedInput(str, revision, "revision"), atMs);
    return (r) => {
      if (r.revision === mark.revision) r.adopting = { ...mark };
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
  canary(canary: CanaryRecord): RolloutEdit {
    const record = checkedInput(checkCanary, canary, "canary");
    return (r) => void (r.canary = record);
  },
  clearHalt(): RolloutEdit {
    return (r) => void delete r.halted;
  },
  /** A lease was given back: the settle time before the next grant counts from here. */
  released(atMs: number): RolloutEdit {
    return (r) => void (r.lastReleaseAtMs = atMs);
  },
};

// What both Store backends share: input checks, token issue, and the rollout and release rules; a backend
// supplies only storage (the abstract methods), so FileStore and EtcdStore cannot drift apart in behaviour.
import { assertNodeName } from "../../../shared/src/names/index.js";
import { checkedInput } from "./lease-rules.js";
import { str } from "./validate.js";
import { rolloutEdits, type RolloutEdit } from "./rollout-edits.js";
import { checkEventInput, checkHello, checkReport, checkRevisionRef } from "./state-codec.js";
import { releaseFleetLockEdit, takeFleetLockEdit } from "./fleetlock-slots.js";
import type { AdoptingMark, CanaryMark, DesiredGuard, EventInput, HaltOptions, FleetLockSlot, FleetLockTake, EventRecord, LeaseRecord, LeaseResult, LeaseRolloutEdit, NodeHello, NodeReport, RevisionMove, RevisionRef, RolloutRecord } from "./store.js";
import { generateToken, hashToken } from "./token-hash.js";

/** Best-effort telemetry of one node: one of the two is set per call. */
export interface NodeTelemetry {
  lastHello?: NodeHello;
  lastReport?: NodeReport;
}

export abstract class StoreCore {
  /** Throws UNAVAILABLE once closed (and FileStore's first failed write). */
  protected abstract assertUsable(): void;
  /** The store's clock in whole milliseconds (the file format stores integers only). */
  protected abstract now(): number;
  /** Stores a node's token hash; re-enrolling keeps what is known about the node. */
  protected abstract storeEnrollment(name: string, tokenHash: string): Promise<void>;
  protected abstract storeTelemetry(name: string, telemetry: NodeTelemetry, applied?: RevisionRef): Promise<void>;
  /** Sets desired refs of enrolled nodes; returns the nodes that are not enrolled. */
  protected abstract storeDesired(refs: ReadonlyArray<{ node: string; ref: RevisionRef }>, guard?: DesiredGuard): Promise<string[]>;
  /** Deletes the lease when the token matches (or "force") and applies `rollout` to the rollout record, atomically. */
  protected abstract storeRelease(node: string, fencingToken: number | "force", rollout: LeaseRolloutEdit): Promise<LeaseResult>;
  /** Applies `edit` to the rollout record atomically and returns the new record. */
  protected abstract storeRolloutEdit(edit: RolloutEdit): Promise<RolloutRecord>;
  protected abstract storeEvent(event: EventInput): Promise<EventRecord>;

  async enrollNode(name: string): Promise<string> {
    this.assertUsable();
    assertNodeName(name);
    const token = generateToken();
    await this.storeEnrollment(name, hashToken(token));
    return token;
  }

  recordHello(name: string, hello: NodeHello, applied?: RevisionRef): Promise<void> {
    const lastHello = checkedInput(checkHello, hello, "hello");
    return this.telemetry(name, { lastHello }, applied);
  }

  recordReport(name: string, report: NodeReport, applied?: RevisionRef): Promise<void> {
    const lastReport = checkedInput(checkReport, report, "report");
    return this.telemetry(name, { lastReport }, applied);
  }

  async setDesired(entries: ReadonlyArray<{ node: string } & RevisionRef>, guard?: DesiredGuard): Promise<{ unknown: string[] }> {
    const refs = entries.map((e) => ({ node: e.node, ref: checkedInput(checkRevisionRef, e, `desired.${e.node}`) }));
    const checked = guard && { revision: checkedInput(str, guard.revision, "guard.revision") };
    this.assertUsable();
    return { unknown: await this.storeDesired(refs, checked) };
  }

  /** A release also starts the settle time before the next grant. */
  releaseLease(node: string, fencingToken: number, edit?: LeaseRolloutEdit): Promise<LeaseResult> {
    this.assertUsable();
    const released = rolloutEdits.released(this.now());
    return this.storeRelease(node, fencingToken, (rollout, lease) => {
      released(rollout);
      edit?.(rollout, lease);
    });
  }

  async forceReleaseLease(node: string): Promise<{ ok: true; lease: LeaseRecord } | { ok: false; reason: "not-held" }> {
    this.assertUsable();
    const r = await this.storeRelease(node, "force", rolloutEdits.released(this.now()));
    return r.ok ? r : { ok: false, reason: "not-held" };
  }

  setRolloutRevision(revision: string, options: RevisionMove = {}): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.revision(revision, options, this.now()));
  }

  markAdopted(mark: AdoptingMark): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.adopted(mark));
  }

  pauseRollout(reason: string): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.pause(reason, this.now()));
  }

  resumeRollout(): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.resume());
  }

  haltRollout(reason: string, revision: string, options: HaltOptions = {}): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.halt(reason, revision, this.now(), options.onlyIfCurrent ?? false));
  }

  clearHalt(): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.clearHalt());
  }

  markCanary(revision: string, mark: CanaryMark): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.canaryMark(revision, mark));
  }

  async takeFleetLock(slot: Omit<FleetLockSlot, "acquiredAtMs">, expected: readonly string[]): Promise<FleetLockTake> {
    const take = takeFleetLockEdit(slot, expected, this.now());
    return take.outcome(await this.rollout(take.edit));
  }

  async releaseFleetLock(group: string, id: string): Promise<FleetLockSlot | undefined> {
    const release = releaseFleetLockEdit(group, id);
    await this.rollout(release.edit);
    return release.released();
  }

  appendEvent(input: EventInput): Promise<EventRecord> {
    const event = checkedInput(checkEventInput, input, "event");
    this.assertUsable();
    return this.storeEvent(event);
  }

  private telemetry(name: string, telemetry: NodeTelemetry, applied?: RevisionRef): Promise<void> {
    const ref = applied && checkedInput(checkRevisionRef, applied, "applied");
    this.assertUsable();
    return this.storeTelemetry(name, telemetry, ref);
  }

  private rollout(edit: RolloutEdit): Promise<RolloutRecord> {
    this.assertUsable();
    return this.storeRolloutEdit(edit);
  }
}

// FleetLock hosts' reboot slots on the leader: decided by the pure rule inside the lease manager's critical section,
// so a slot and an nk grant are never decided on the same free capacity.
import type { LeaseCore } from "./lease-return.js";
import { fleetLockKey, type FleetLockSlot } from "../store/index.js";
import { decidePreReboot, FLEETLOCK_HOLDER_PREFIX, fleetLockHolder } from "./fleetlock-rule.js";

/** Re-decisions after a lost compare-and-set before refusing for this call (the host retries on its own). */
const MAX_ATTEMPTS = 5;

export interface FleetLockRequest {
  readonly group: string;
  readonly id: string;
  /** The API token's name, for the slot and the journal. */
  readonly by: string;
}

/** `kind` is the protocol's error kind (a small fixed set, as zincati counts them in metrics). */
export type FleetLockAnswer =
  | { readonly ok: true; readonly message: string }
  | { readonly ok: false; readonly kind: "unknown_group" | "failed_lock"; readonly message: string };

export class FleetLocks {
  constructor(private readonly c: LeaseCore) {}

  /** POST /v1/pre-reboot: take (or keep) the host's slot when the rule allows it now; never waits. */
  preReboot(req: FleetLockRequest): Promise<FleetLockAnswer> {
    const { deps, book, serial } = this.c;
    return serial.run(async () => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await book.refresh();
        const settings = book.current();
        if (!settings) return { ok: false, kind: "failed_lock", message: "no inventory revision adopted yet" };
        const slots = book.rollout.fleetLocks ?? [];
        const base = this.c.engine.baseInput(settings, "fleetlock");
        const decision = decidePreReboot({ ...base, request: req, groups: settings.rollout.fleetlock.groups, slots });
        if (!decision.ok) {
          deps.log.info({ group: req.group, id: req.id, kind: decision.kind, reason: decision.reason }, "fleetlock pre-reboot refused");
          return { ok: false, kind: decision.kind, message: decision.reason };
        }
        if (decision.held) return { ok: true, message: `${holderName(req)} holds its reboot slot` };
        const taken = await deps.store.takeFleetLock(req, slots.map(fleetLockKey));
        if (!taken.ok) continue;
        await this.taken(taken.slot);
        return { ok: true, message: `${holderName(req)} may reboot` };
      }
      return { ok: false, kind: "failed_lock", message: "the reboot slots changed under this coordinator; try again" };
    });
  }

  /** POST /v1/steady-state: give the host's slot back; succeeds when it held none (the protocol's unlock is idempotent). */
  steadyState(req: FleetLockRequest): Promise<FleetLockAnswer> {
    return this.c.serial.run(async () => {
      const released = await this.release(req, "released");
      return { ok: true, message: `${holderName(req)} ${released ? "released its reboot slot" : "holds no reboot slot"}` };
    });
  }

  /**
   * An operator frees a host's slot (`nkctl lease release fleetlock/<group>/<id> --force`), e.g. for a host that never
   * came back. Only with force: the host may be mid-reboot, and its slot is what keeps the others waiting.
   */
  adminRelease(holder: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }> {
    return this.c.serial.run(async () => {
      await this.c.book.refresh();
      const [group = "", ...rest] = holder.slice(FLEETLOCK_HOLDER_PREFIX.length).split("/");
      const slot = (this.c.book.rollout.fleetLocks ?? []).find((s) => s.group === group && s.id === rest.join("/"));
      if (!slot) return { released: false, message: `${holder} holds no FleetLock slot` };
      if (!force) return { released: false, message: `${holder} holds a FleetLock slot and may be rebooting; releasing it may let more hosts go down than allowed. Use --force if the host is really gone or back.` };
      const released = await this.release({ group: slot.group, id: slot.id, by: slot.by }, `released by an operator: ${reason || "no reason given"}`);
      return { released, message: released ? `released the FleetLock slot of ${holder}` : `${holder} holds no FleetLock slot any more` };
    });
  }

  /** Inside the critical section: drops the slot, records why, and hands the freed capacity to nk's queue first. */
  private async release(req: FleetLockRequest, why: string): Promise<boolean> {
    const { deps, engine } = this.c;
    const released = await deps.store.releaseFleetLock(req.group, req.id);
    if (!released) return false;
    const heldMs = deps.now() - released.acquiredAtMs;
    await deps.store.appendEvent({ kind: "fleetlock-released", node: holderName(req), message: `FleetLock slot of ${req.id} in group ${req.group} ${why} after ${Math.round(heldMs / 1000)}s`, fields: { group: req.group, id: req.id, by: released.by } });
    deps.log.info({ group: req.group, id: req.id, heldMs, why }, "fleetlock slot released");
    await engine.evaluateLocked({ trigger: "fleetlock", atMs: deps.now() });
    return true;
  }

  private async taken(slot: FleetLockSlot): Promise<void> {
    const { deps, engine } = this.c;
    await deps.store.appendEvent({ kind: "fleetlock-acquired", node: holderName(slot), message: `FleetLock slot taken by ${slot.id} in group ${slot.group}`, fields: { group: slot.group, id: slot.id, by: slot.by } });
    deps.log.info({ group: slot.group, id: slot.id, by: slot.by }, "fleetlock slot taken");
    // Queued nodes' reasons now name the slot.
    await engine.evaluateLocked({ trigger: "fleetlock", atMs: deps.now() });
  }
}

/** The name a slot goes by in leases, events and the grant rule's reasons. */
export function holderName(slot: { readonly group: string; readonly id: string }): string {
  return fleetLockHolder(slot).node;
}

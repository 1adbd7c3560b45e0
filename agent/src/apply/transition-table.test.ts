// Every phase × every event: either the specified transition or an explicit, effect-free ignore.
import { describe, expect, it } from "vitest";
import { PHASES, type AgentState, type Phase } from "./agent-state.js";
import { EVENT_TYPES, type AgentEvent, type AgentEventType } from "./agent-event.js";
import { A, B, BOOT1, INSTALL, SYS_A, T0, reach, step } from "./test-fixtures.js";

/** The canonical event of each type for a state: matching its target, lease and deadline; agent-started is a plain restart. */
function canonical(s: AgentState, type: AgentEventType): AgentEvent {
  // Before any deadline, except for the deadline event itself.
  const now = s.updatedAt + 1;
  const sha256 = s.target?.sha256 ?? A.sha256;
  const fencingToken = s.lease?.fencingToken ?? 7;
  const rollbackPhase = s.phase.startsWith("roll") || s.phase === "failed";
  const systemPath = (rollbackPhase ? s.target?.rollbackTo : s.target?.systemPath) ?? SYS_A;
  switch (type) {
    case "agent-started":
      return { type, now, bootId: s.facts?.bootId ?? BOOT1, currentSystem: s.facts?.currentSystem ?? INSTALL, bootedSystem: s.facts?.bootedSystem ?? INSTALL };
    case "desired-received":
      return { type, now, desired: B };
    case "secrets-failed":
      return { type, now, revision: B.revision, sha256: B.sha256, error: "coordinator unavailable" };
    case "bundle-written":
      return { type, now, sha256 };
    case "bundle-write-failed":
      return { type, now, sha256, error: "disk full" };
    case "build-succeeded":
      return { type, now, sha256, systemPath: SYS_A, rebootNeeded: true, restartsUnits: [] };
    case "build-failed":
      return { type, now, sha256, error: "boom" };
    case "lease-granted":
    case "lease-released":
    case "drained":
      return { type, now, fencingToken };
    case "lease-denied":
      return { type, now, reason: "paused" };
    case "lease-lost":
      return { type, now, fencingToken, reason: "revoked" };
    case "drain-failed":
      return { type, now, fencingToken, error: "pdb" };
    case "etcd-snapshot-saved":
      return { type, now, fencingToken, name: s.target?.etcdSnapshot ?? "nk-rev-a-n1" };
    case "etcd-snapshot-failed":
      return { type, now, fencingToken, name: s.target?.etcdSnapshot ?? "nk-rev-a-n1", error: "etcd not ready" };
    case "activation-succeeded":
    case "health-passed":
      return { type, now, systemPath };
    case "activation-failed":
      return { type, now, systemPath, error: "unit failed" };
    case "health-failed":
      return { type, now, systemPath, reason: "k3s inactive" };
    case "blessed":
      return { type, now, systemPath };
    case "bless-failed":
      return { type, now, systemPath, error: "bootctl failed" };
    case "deadline-passed":
      return { type, now: s.deadlineAt ?? T0 + 1e9 };
    case "operator-retry":
      return { type, now };
  }
}

// Columns follow EVENT_TYPES. "-" = ignored: same state object, no effects. Otherwise the phase after.
const COLUMNS = "started desired secrets written writeFail built buildFail granted denied lost released snapSaved snapFailed drained drainFail activated actFail healthy unhealthy blessed blessFail deadline retry";
const TABLE: Record<Phase, string> = {
  idle:                 "idle fetched idle - - - - idle - - - - - - - - - - - - - - idle",
  fetched:              "idle fetched - building failed - - fetched - - - - - - - - - - - - - - -",
  building:             "building fetched - - - waiting-lease failed building - - - - - - - - - - - - - - -",
  "waiting-lease":      "waiting-lease fetched - - - - - draining idle - - - - - - - - - - - - - -",
  snapshotting:         "snapshotting snapshotting - - - - - - - idle idle draining idle - - - - - - - - - -",
  draining:             "draining draining - - - - - - - idle idle - - rebooting idle - - - - - - - -",
  rebooting:            "rebooting rebooting - - - - - - - rebooting rebooting - - - - - rolling-back - - - - rebooting -",
  verifying:            "verifying verifying - - - - - - - verifying verifying - - - - - - blessing rollback-rebooting - - rollback-rebooting -",
  blessing:             "blessing blessing - - - - - - - blessing blessing - - - - - - - - confirmed rollback-rebooting rollback-rebooting -",
  activating:           "activating activating - - - - - activating - - - - - - - verifying rolling-back - - - - rolling-back -",
  "rolling-back":       "rollback-verifying rolling-back - - - - - rolling-back - - - - - - - rollback-verifying rolling-back - - - - rolling-back rolling-back",
  "rollback-rebooting": "rollback-rebooting rollback-rebooting - - - - - - - rollback-rebooting rollback-rebooting - - - - - rollback-rebooting - - - - rollback-rebooting rollback-rebooting",
  "rollback-verifying": "rollback-verifying rollback-verifying - - - - - - - rollback-verifying rollback-verifying - - - - - - rolled-back failed - - failed rollback-verifying",
  confirmed:            "confirmed fetched confirmed - - - - confirmed - - - - - - - - - - - - - - confirmed",
  "rolled-back":        "rolled-back fetched rolled-back - - - - rolled-back - - - - - - - - - - - - - - rolled-back",
  failed:               "failed fetched failed - - - - failed - - - - - - - - - - - - - - failed",
};

describe("transition table", () => {
  it("has one column per event type and one row per phase", () => {
    expect(COLUMNS.split(" ")).toHaveLength(EVENT_TYPES.length);
    expect(Object.keys(TABLE).sort()).toEqual([...PHASES].sort());
    for (const row of Object.values(TABLE)) expect(row.split(" ")).toHaveLength(EVENT_TYPES.length);
  });

  for (const phase of PHASES) {
    const row = TABLE[phase].split(" ");
    EVENT_TYPES.forEach((type, i) => {
      const expected = row[i] ?? "?";
      it(`${phase} × ${type} → ${expected === "-" ? "ignored" : expected}`, () => {
        const s = reach(phase);
        const r = step(s, canonical(s, type));
        if (expected === "-") {
          expect(r.state).toBe(s);
          expect(r.effects).toEqual([]);
        } else {
          expect(r.state.phase).toBe(expected);
        }
      });
    });
  }
});

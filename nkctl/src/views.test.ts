// How coordinator answers and local results read on screen: nodes, leases, rollout, events, diffs, summaries.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { Diagnostic, Inventory } from "../../shared/src/inventory/index.js";
import { NodeStatus } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, type Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import type { LeaseInfo } from "../../shared/src/wire/index.js";
import { toNkError } from "./admin-client.js";
import { formatDiffs } from "./diff.js";
import { eventJson, formatEvent } from "./events.js";
import { heldTable, queueTable } from "./lease.js";
import { nodesTable } from "./nodes.js";
import { formatFields, rolloutJson, rolloutLines } from "./rollout.js";
import { stripOneNewline } from "./secret.js";
import { summaryLine } from "./validate.js";

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const REV = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

function lease(node: string, o: Partial<LeaseInfo> = {}): LeaseInfo {
  return { node, role: "agent", kind: "reboot", state: "draining", fencingToken: 7, revision: REV, requestedAtMs: NOW - 120_000, grantedAtMs: NOW - 95_000, phaseDeadlineMs: NOW + 250_000, queuePosition: 0, waitingReason: "", ...o };
}

describe("nodesTable", () => {
  it("shows revision, phase, health, lease, agent and last report per node, sorted by name", () => {
    const nodes = [
      NodeStatus.fromPartial({ name: "n2", role: "agent", address: "10.0.0.3", desiredRevision: REV, phase: ApplyPhase.APPLY_PHASE_DRAINING, health: { healthy: false }, enrolled: true, agentVersion: "0.1.0", connected: false, lastReportMs: NOW - 300_000 }),
      NodeStatus.fromPartial({ name: "n1", role: "server", address: "10.0.0.2", desiredRevision: REV, appliedRevision: REV, phase: ApplyPhase.APPLY_PHASE_CONFIRMED, health: { healthy: true }, enrolled: true, agentVersion: "0.1.0", connected: true, lastReportMs: NOW - 4_000 }),
      NodeStatus.fromPartial({ name: "n3", role: "agent", address: "10.0.0.4" }),
    ];
    expect(nodesTable(nodes, [lease("n2")], NOW)).toBe(
      [
        "NAME  ROLE    ADDRESS   DESIRED       APPLIED       PHASE      HEALTH     LEASE     AGENT            LAST-SEEN",
        "n1    server  10.0.0.2  a1b2c3d4e5f6  a1b2c3d4e5f6  confirmed  healthy    -         0.1.0            4s ago",
        "n2    agent   10.0.0.3  a1b2c3d4e5f6  -             draining   unhealthy  draining  0.1.0 (offline)  5m ago",
        "n3    agent   10.0.0.4  -             -             idle       unknown    -         not enrolled     never",
        "",
      ].join("\n"),
    );
  });
});

describe("lease tables", () => {
  it("lists holders with token, state and time left, and the queue in grant order with the reason", () => {
    expect(heldTable([lease("n2"), lease("n4", { kind: "service-restart", state: "verifying", phaseDeadlineMs: NOW - 10_000, fencingToken: 9 })], NOW)).toBe(
      [
        "HOLDER                SINCE      TOKEN  STATE      DEADLINE-LEFT",
        "n2                    1m35s ago  7      draining   4m10s",
        "n4 (service-restart)  1m35s ago  9      verifying  overdue 10s",
        "",
      ].join("\n"),
    );
    const queue = [lease("n6", { state: "queued", queuePosition: 2, waitingReason: "", requestedAtMs: NOW - 5_000 }), lease("n5", { state: "queued", queuePosition: 1, waitingReason: "max_unavailable 1 reached (n2 holds)" })];
    expect(queueTable(queue, NOW)).toBe(["POS  NODE  WAITING-FOR/REASON", "1    n5    2m: max_unavailable 1 reached (n2 holds)", "2    n6    5s: next in line", ""].join("\n"));
  });
});

describe("rollout lines", () => {
  it("shows halted and paused with their reasons and what blocks the next grant", () => {
    const r = { revision: REV, paused: true, pauseReason: "kernel freeze", halted: true, haltReason: "n3 rolled back", nodesTotal: 5, nodesConverged: 3, blockedReason: "rollout halted", stage: "" };
    expect(formatFields(rolloutLines(r))).toBe(
      ["revision   a1b2c3d4e5f6", "rollout    halted: n3 rolled back", "rollout    paused: kernel freeze", "blocked    rollout halted", "converged  3/5 nodes", ""].join("\n"),
    );
    expect(rolloutLines({ ...r, paused: false, halted: false, blockedReason: "" }).map(([k, v]) => `${k}=${v}`)).toEqual(["revision=a1b2c3d4e5f6", "rollout=running", "converged=3/5 nodes"]);
    const waiting = { ...r, paused: false, halted: false, stage: "awaiting-approval", blockedReason: "canaries (n3) confirmed: waiting for approval (nkctl rollout approve)" };
    expect(rolloutLines(waiting).map(([k, v]) => `${k}=${v}`)).toEqual([
      "revision=a1b2c3d4e5f6",
      "rollout=running",
      "stage=awaiting-approval",
      "blocked=canaries (n3) confirmed: waiting for approval (nkctl rollout approve)",
      "converged=3/5 nodes",
    ]);
    expect(rolloutJson(waiting)).toMatchObject({ state: "running", stage: "awaiting-approval" });
  });
});

describe("events", () => {
  const event: Event = { seq: 4, timeMs: NOW, kind: "lease-granted", node: "n2", revision: REV, message: "lease granted", fields: { token: "7", reason: "max unavailable" } };
  it("prints one line per event with sorted, quoted-when-needed fields", () => {
    expect(formatEvent(event)).toBe('2025-01-15T12:00:00.000Z  lease-granted  n2 @a1b2c3d4e5f6  lease granted reason="max unavailable" token=7\n');
    expect(formatEvent({ ...event, node: "", revision: "", fields: {} })).toBe("2025-01-15T12:00:00.000Z  lease-granted  lease granted\n");
  });
  it("prints one JSON object per line for scripts", () => {
    expect(JSON.parse(eventJson(event))).toEqual({ seq: 4, timeMs: NOW, kind: "lease-granted", node: "n2", revision: REV, message: "lease granted", fields: { token: "7", reason: "max unavailable" } });
  });
});

describe("formatDiffs", () => {
  it("says 'no action needed' for equal bundles and names new and removed nodes", () => {
    const diffs = [
      { node: "n1", fromSha256: "a".repeat(64), toSha256: "a".repeat(64), unified: "" },
      { node: "n2", fromSha256: "b".repeat(64), toSha256: "c".repeat(64), unified: "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-1\n+2\n" },
      { node: "n3", fromSha256: "", toSha256: "d".repeat(64), unified: "--- /dev/null\n+++ b/x\n" },
      { node: "n4", fromSha256: "e".repeat(64), toSha256: "", unified: "--- a/x\n+++ /dev/null\n" },
    ];
    expect(formatDiffs(diffs)).toBe(
      [
        "n1: no action needed",
        "n2: changes (bbbbbbbbbbbb -> cccccccccccc)",
        "--- a/x",
        "+++ b/x",
        "@@ -1 +1 @@",
        "-1",
        "+2",
        "n3: new node (dddddddddddd)",
        "--- /dev/null",
        "+++ b/x",
        "n4: removed",
        "--- a/x",
        "+++ /dev/null",
        "3 of 4 nodes change",
        "",
      ].join("\n"),
    );
  });
});

describe("summaryLine", () => {
  const d = (severity: Diagnostic["severity"]): Diagnostic => ({ file: "inventory.yaml", line: 1, col: 1, field: "", message: "m", severity });
  const inventory = { nodes: [{ role: "server" }, { role: "server" }, { role: "agent" }] } as unknown as Inventory;
  it("counts nodes by role when there are no errors, and errors and warnings otherwise", () => {
    expect(summaryLine([], inventory)).toBe("ok: 3 nodes (2 servers, 1 agent)");
    expect(summaryLine([d("warning")], inventory)).toBe("ok: 3 nodes (2 servers, 1 agent), 1 warning");
    expect(summaryLine([d("error"), d("error"), d("warning")], null)).toBe("2 errors, 1 warning");
    expect(summaryLine([d("error")], null)).toBe("1 error");
    const withHost = { nodes: [{ role: "server" }, { role: "agent" }, { role: "none" }] } as unknown as Inventory;
    expect(summaryLine([], withHost)).toBe("ok: 3 nodes (1 server, 1 agent, 1 without k3s)");
  });
});

describe("stripOneNewline", () => {
  it("drops exactly one trailing LF or CRLF", () => {
    expect(stripOneNewline(Buffer.from("tok\n")).toString()).toBe("tok");
    expect(stripOneNewline(Buffer.from("tok\r\n")).toString()).toBe("tok");
    expect(stripOneNewline(Buffer.from("tok\n\n")).toString()).toBe("tok\n");
    expect(stripOneNewline(Buffer.from(" tok ")).toString()).toBe(" tok ");
  });
});

describe("toNkError", () => {
  const err = (code: status, details: string, nkCode?: string): ServiceError => {
    const metadata = new Metadata();
    if (nkCode) metadata.set("nk-error-code", nkCode);
    return Object.assign(new Error(details), { code, details, metadata });
  };
  it("explains an unreachable coordinator, a refused token and a slow answer", () => {
    const unreachable = toNkError(err(status.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED. Resolution note: "), "c.lan:7443");
    expect([unreachable.code, unreachable.message]).toEqual(["UNAVAILABLE", "cannot reach coordinator at c.lan:7443: No connection established. Last error: connect ECONNREFUSED (connection refused: is the coordinator running, and is this its gRPC port, 7443 by default?)"]);
    const refused = toNkError(err(status.UNAUTHENTICATED, "invalid admin token", "UNAUTHENTICATED"), "c.lan:7443");
    expect([refused.code, refused.message]).toEqual(["UNAUTHENTICATED", "the admin token was refused by the coordinator at c.lan:7443 (invalid admin token)"]);
    expect(toNkError(err(status.DEADLINE_EXCEEDED, "Deadline exceeded"), "c.lan:7443").message).toBe("the coordinator at c.lan:7443 did not answer within 10 s");
  });
  it("keeps the coordinator's own error code when it sends one", () => {
    expect(toNkError(err(status.NOT_FOUND, "no such revision", "REVISION_UNKNOWN"), "c").code).toBe("REVISION_UNKNOWN");
    expect(toNkError(err(status.UNAVAILABLE, "follower", "NOT_LEADER"), "c").code).toBe("NOT_LEADER");
    expect(toNkError(err(status.FAILED_PRECONDITION, "lease held by n2", "LEASE_HELD"), "c")).toMatchObject({ code: "LEASE_HELD", message: "coordinator: lease held by n2" });
    expect(toNkError(err(status.INTERNAL, "internal error", "NOT_A_CODE"), "c").code).toBe("INTERNAL");
  });
});

// FleetLock over real HTTPS against a real coordinator: the protocol's documented bodies and statuses, auth, audit,
// metrics, durability across a restart, and FleetLock slots and nk leases sharing max_unavailable both ways.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CoordinatorClient } from "../../agent/src/client/index.js";
import type { AdminServiceReleaseLeaseRequest, AdminServiceReleaseLeaseResponse, CreateTokenRequest, CreateTokenResponse, EnrollNodeRequest, EnrollNodeResponse, ListLeasesRequest, ListLeasesResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ReportRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { LeaseKind } from "../../shared/src/proto/gen/nk/v1/common.js";
import { applyPhaseToWire, type DesiredBundle, type LeaseInfo } from "../../shared/src/wire/index.js";
import { adminCall, eventually, startHarness, type Harness } from "../support/coordinator-harness.js";

const run = promisify(execFile);
const NODES = ["n1", "n2", "n3", "n4", "n5"];
const HOST_A = "c988d2509fdf4cdcbed39037c56406fb";

/** The protocol's request body: `{"client_params": {"group": ..., "id": ...}}`. */
const body = (group: string, id: string): string => JSON.stringify({ client_params: { group, id } });

/** Opens the node's desired stream (what makes it "connected") and resolves with its first bundle; the stream stays open. */
function connect(agent: CoordinatorClient, streams: Array<{ cancel(): void }>): Promise<DesiredBundle> {
  return new Promise((resolve, reject) => {
    const stream = agent.watchDesired("");
    streams.push(stream);
    stream.on("data", (b) => resolve(b));
    stream.on("error", (err) => (err.code === 1 ? undefined : reject(err)));
  });
}

describe("FleetLock endpoint", () => {
  let h: Harness;
  const tokens = new Map<string, string>();
  let zincati = "";
  let viewer = "";
  let revision = "";
  const leaseUpdates: LeaseInfo[] = [];
  const streams: Array<{ cancel(): void }> = [];

  /** Every inventory node connected and healthy: the grant rule's health gate is open. */
  const connectAll = async () => {
    for (const node of NODES) {
      const agent = h.agent(node, tokens.get(node)!);
      const desired = await connect(agent, streams);
      await agent.report(ReportRequest.fromPartial({
        revision: desired.revision, bundleSha256: desired.sha256, phase: applyPhaseToWire("confirmed"), health: { healthy: true, checks: [], observedAtMs: Date.now() },
        agentVersion: "0.1.0", bootId: `boot-${node}`, appliedRevision: desired.revision, appliedSha256: desired.sha256,
      }));
    }
  };

  const post = async (op: "pre-reboot" | "steady-state", payload: string, headers: Record<string, string> = { authorization: `Bearer ${zincati}`, "fleet-lock-protocol": "true" }) => {
    const res = await h.fetch(`/v1/${op}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: payload });
    const text = await res.text();
    return { status: res.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const held = async (): Promise<string[]> => ((await (await h.fetch("/api/v1/leases")).json()) as { held: Array<{ node: string }> }).held.map((l) => l.node);

  beforeAll(async () => {
    h = await startHarness();
    const { client, metadata } = h.admin();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("fleetlock-k3s-token") }, metadata);
    for (const node of NODES) tokens.set(node, (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata)).token);
    zincati = (await adminCall<CreateTokenRequest, CreateTokenResponse>(client.createToken.bind(client), { name: "zincati", role: "fleetlock" }, metadata)).token;
    viewer = (await adminCall<CreateTokenRequest, CreateTokenResponse>(client.createToken.bind(client), { name: "wall", role: "viewer" }, metadata)).token;
    const file = join(h.checkout, "inventory.yaml");
    const doc = parseDocument(await readFile(file, "utf8"));
    doc.setIn(["cluster", "rollout", "max_unavailable"], 2);
    doc.deleteIn(["cluster", "rollout", "checks"]);
    doc.setIn(["cluster", "rollout", "fleetlock"], doc.createNode({ groups: { default: { max_unavailable: 1 }, workers: { max_unavailable: 2 } } }));
    await writeFile(file, doc.toString());
    await h.push("FleetLock groups");
    revision = (await h.git("rev-parse", "HEAD")).stdout.trim();
    await connectAll();
  });

  afterAll(async () => {
    for (const stream of streams) stream.cancel();
    await h?.close();
  });

  it("refuses requests without the protocol header, without a token, with a viewer's token, or with a bad body", async () => {
    expect(await post("pre-reboot", body("default", HOST_A), { authorization: `Bearer ${zincati}` })).toEqual({
      status: 400,
      body: { kind: "missing_fleet_lock_header", value: 'the request needs the header "fleet-lock-protocol: true" (the FleetLock protocol)' },
    });
    const anonymous = await post("pre-reboot", body("default", HOST_A), { "fleet-lock-protocol": "true" });
    expect(anonymous).toMatchObject({ status: 401, body: { kind: "unauthenticated" } });
    expect(await post("pre-reboot", body("default", HOST_A), { authorization: `Bearer ${viewer}`, "fleet-lock-protocol": "true" })).toMatchObject({ status: 403, body: { kind: "forbidden", value: 'token "wall" has role viewer; this needs fleetlock' } });
    const noId = await post("pre-reboot", JSON.stringify({ client_params: { group: "default" } }));
    expect(noId).toEqual({ status: 400, body: { kind: "bad_request", value: `body/client_params must have required property 'id'; expected {"client_params": {"id": "<client id>", "group": "<group>"}}` } });
    const badGroup = await post("pre-reboot", body("de fault", HOST_A));
    expect(badGroup).toMatchObject({ status: 400, body: { kind: "bad_request", value: expect.stringContaining('body/client_params/group must match pattern "^[a-zA-Z0-9.-]+$"') } });
    expect(await post("pre-reboot", "{not json")).toMatchObject({ status: 400, body: { kind: "bad_request" } });
    expect(await post("pre-reboot", body("db", HOST_A))).toEqual({
      status: 400,
      body: { kind: "unknown_group", value: 'FleetLock group "db" is not in rollout.fleetlock.groups of the inventory (configured: default, workers)' },
    });
    expect(await held()).toEqual([]);
  });

  it("takes a slot for the protocol's own curl example with the token in the URL, and again (recursive)", async () => {
    const port = h.coordinator.httpPort;
    const bodyFile = join(h.workDir, "body.json");
    await writeFile(bodyFile, `{\n  "client_params": {\n    "group": "default",\n    "id": "${HOST_A}"\n  }\n}\n`);
    // What zincati does with base_url = https://fleetlock:<token>@host:port/ ; curl -d labels the body as a form.
    const curl = (path: string) => run("curl", ["-sS", "--cacert", h.caFile, "-w", "\n%{http_code}", "-H", "fleet-lock-protocol: true", "-d", `@${bodyFile}`, `https://fleetlock:${zincati}@127.0.0.1:${port}${path}`]);
    expect((await curl("/v1/pre-reboot")).stdout.split("\n").pop()).toBe("200");
    expect(await post("pre-reboot", body("default", HOST_A))).toEqual({ status: 200, body: { message: `fleetlock/default/${HOST_A} holds its reboot slot` } });
    expect(await held()).toEqual([`fleetlock/default/${HOST_A}`]);
  });

  it("refuses a second host while the group's slot is full, and lets another group use the cluster's second slot", async () => {
    expect(await post("pre-reboot", body("default", "host-b"))).toEqual({
      status: 409,
      body: { kind: "failed_lock", value: `waiting: 1/1 host disrupted (fleetlock/default/${HOST_A}) in FleetLock group default` },
    });
    expect(await post("pre-reboot", body("workers", "host-c"))).toEqual({ status: 200, body: { message: "fleetlock/workers/host-c may reboot" } });
  });

  it("holds an nk node's lease while FleetLock slots fill max_unavailable, and grants it when one is released", async () => {
    const n4 = h.agent("n4", tokens.get("n4")!);
    const stream = n4.acquireLease({ kind: LeaseKind.LEASE_KIND_REBOOT, revision, bundleSha256: "", reason: "new kernel", fencingToken: 0, k3sNext: "" });
    streams.push(stream);
    stream.on("data", (l) => leaseUpdates.push(l));
    // The restart below ends the stream; the lease stays held in the store.
    stream.on("error", () => undefined);
    const queued = await eventually(() => leaseUpdates.find((l) => l.state === "queued" && l.waitingReason !== ""), 10_000, "n4 queued with a reason");
    expect(queued.waitingReason).toBe(`waiting: 2/2 nodes disrupted (fleetlock/default/${HOST_A}, fleetlock/workers/host-c)`);
    expect(await post("steady-state", body("workers", "host-c"))).toEqual({ status: 200, body: { message: "fleetlock/workers/host-c released its reboot slot" } });
    await eventually(() => leaseUpdates.find((l) => l.state === "granted"), 10_000, "n4 granted");
    expect(await held()).toEqual(["n4", `fleetlock/default/${HOST_A}`]);
  });

  it("refuses a FleetLock host while an nk lease and a slot fill max_unavailable, also after a coordinator restart", async () => {
    const refused = { status: 409, body: { kind: "failed_lock", value: `waiting: 2/2 nodes disrupted (n4, fleetlock/default/${HOST_A})` } };
    expect(await post("pre-reboot", body("workers", "host-d"))).toEqual(refused);
    await h.restart();
    await connectAll();
    expect(await held()).toEqual(["n4", `fleetlock/default/${HOST_A}`]);
    expect(await post("pre-reboot", body("workers", "host-d"))).toEqual(refused);
  });

  it("releases idempotently and frees the slot for the next host", async () => {
    expect(await post("steady-state", body("default", HOST_A))).toEqual({ status: 200, body: { message: `fleetlock/default/${HOST_A} released its reboot slot` } });
    expect(await post("steady-state", body("default", HOST_A))).toEqual({ status: 200, body: { message: `fleetlock/default/${HOST_A} holds no reboot slot` } });
    expect(await post("pre-reboot", body("default", "host-b"))).toMatchObject({ status: 200 });
    expect(await post("steady-state", body("default", "host-b"))).toMatchObject({ status: 200 });
    expect(await held()).toEqual(["n4"]);
  });

  it("audits every request by token name, never the token, and counts outcomes in the metrics", async () => {
    const events = ((await (await h.fetch("/api/v1/events?limit=1000")).json()) as { events: Array<{ kind: string; message: string; fields: Record<string, string> }> }).events;
    const audit = events.filter((e) => e.kind === "audit" && e.fields["action"]?.startsWith("POST /v1/")).map((e) => e.message);
    expect(audit).toEqual([
      "zincati: POST /v1/pre-reboot: refused: HTTP 400 missing_fleet_lock_header",
      "unknown: POST /v1/pre-reboot: refused: HTTP 401 unauthenticated",
      "wall: POST /v1/pre-reboot: refused: HTTP 403 forbidden",
      ...Array.from({ length: 3 }, () => "zincati: POST /v1/pre-reboot: refused: HTTP 400 bad_request"),
      `zincati: POST /v1/pre-reboot fleetlock/db/${HOST_A}: refused: HTTP 400 unknown_group`,
      `zincati: POST /v1/pre-reboot fleetlock/default/${HOST_A}: ok`,
      `zincati: POST /v1/pre-reboot fleetlock/default/${HOST_A}: ok`,
      "zincati: POST /v1/pre-reboot fleetlock/default/host-b: refused: HTTP 409 failed_lock",
      "zincati: POST /v1/pre-reboot fleetlock/workers/host-c: ok",
      "zincati: POST /v1/steady-state fleetlock/workers/host-c: ok",
      "zincati: POST /v1/pre-reboot fleetlock/workers/host-d: refused: HTTP 409 failed_lock",
      "zincati: POST /v1/pre-reboot fleetlock/workers/host-d: refused: HTTP 409 failed_lock",
      `zincati: POST /v1/steady-state fleetlock/default/${HOST_A}: ok`,
      `zincati: POST /v1/steady-state fleetlock/default/${HOST_A}: ok`,
      "zincati: POST /v1/pre-reboot fleetlock/default/host-b: ok",
      "zincati: POST /v1/steady-state fleetlock/default/host-b: ok",
    ]);
    expect(events.filter((e) => e.kind === "fleetlock-acquired").map((e) => e.fields["id"])).toEqual([HOST_A, "host-c", "host-b"]);
    expect(JSON.stringify(events)).not.toContain(zincati);
    const metrics = await (await h.fetch("/metrics")).text();
    // Counted since the restart: host-d refused, a's two releases, host-b's take and release.
    expect(metrics.split("\n").filter((l) => l.startsWith("nk_fleetlock_requests_total")).sort()).toEqual([
      'nk_fleetlock_requests_total{op="pre-reboot",outcome="failed_lock"} 1',
      'nk_fleetlock_requests_total{op="pre-reboot",outcome="ok"} 1',
      'nk_fleetlock_requests_total{op="steady-state",outcome="ok"} 3',
    ]);
  });

  it("lists slots in nkctl's ListLeases and lets an operator free one only with force", async () => {
    expect(await post("pre-reboot", body("workers", "host-e"))).toMatchObject({ status: 200 });
    const { client, metadata } = h.admin();
    const list = await adminCall<ListLeasesRequest, ListLeasesResponse>(client.listLeases.bind(client), {}, metadata);
    expect(list.leases.map((l) => [l.node, l.role, l.fencingToken])).toEqual([["n4", "agent", expect.any(Number)], ["fleetlock/workers/host-e", "none", 0]]);
    const release = (force: boolean) => adminCall<AdminServiceReleaseLeaseRequest, AdminServiceReleaseLeaseResponse>(client.releaseLease.bind(client), { node: "fleetlock/workers/host-e", force, reason: "host decommissioned" }, metadata);
    expect(await release(false)).toEqual({ released: false, message: "fleetlock/workers/host-e holds a FleetLock slot and may be rebooting; releasing it may let more hosts go down than allowed. Use --force if the host is really gone or back." });
    expect(await release(true)).toEqual({ released: true, message: "released the FleetLock slot of fleetlock/workers/host-e" });
    expect(await held()).toEqual(["n4"]);
    const events = ((await (await h.fetch("/api/v1/events?limit=5")).json()) as { events: Array<{ kind: string; message: string }> }).events;
    expect(events.filter((e) => e.kind === "fleetlock-released").map((e) => e.message).pop()).toMatch(/^FleetLock slot of host-e in group workers released by an operator: host decommissioned after \d+s$/);
  });
});

// Integration: every gRPC call is authenticated and scoped to the caller's node, over TLS on loopback.
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse, ListSecretsRequest, ListSecretsResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AdminServiceClient } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AgentServiceClient, FetchSecretsRequest, HelloRequest, ReportRequest, type FetchSecretsResponse, type HelloResponse, type ReportResponse } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { AUTH_HEADER, NODE_HEADER, bearer } from "../../shared/src/wire/index.js";
import { adminCall, eventually, startHarness, type Harness } from "../support/coordinator-harness.js";

const K3S_TOKEN = "call-auth-k3s-token-value";
const OTHER_SECRET = "call-auth-unreferenced-secret";

function nodeMetadata(node: string, token: string): Metadata {
  const md = new Metadata();
  md.set(AUTH_HEADER, bearer(token));
  md.set(NODE_HEADER, node);
  return md;
}

type Unary<Req, Res> = (req: Req, md: Metadata, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/** Resolves with the answer or with the ServiceError, so both can be asserted on. */
function call<Req, Res>(fn: Unary<Req, Res>, req: Req, md: Metadata): Promise<{ ok: true; res: Res } | { ok: false; err: ServiceError }> {
  return new Promise((resolve) => fn(req, md, (err, res) => resolve(err ? { ok: false, err } : { ok: true, res })));
}

function expectError(result: { ok: boolean; err?: ServiceError }, code: status, details?: string | RegExp): void {
  expect(result.ok).toBe(false);
  expect(result.err?.code, result.err?.details).toBe(code);
  if (typeof details === "string") expect(result.err?.details).toBe(details);
  else if (details) expect(result.err?.details).toMatch(details);
}

/** The first event of a WatchDesired stream: an error, or the first message. */
function firstOfWatch(client: AgentServiceClient, node: string, md: Metadata): Promise<{ err?: ServiceError; data?: unknown }> {
  return new Promise((resolve) => {
    const stream = client.watchDesired({ node, knownSha256: "" }, md);
    stream.on("data", (data: unknown) => {
      resolve({ data });
      stream.cancel();
    });
    stream.on("error", (err: ServiceError) => resolve({ err }));
  });
}

describe("call authentication and per-node scope", () => {
  let h: Harness;
  let agentApi: AgentServiceClient;
  let admin: AdminServiceClient;
  let adminMd: Metadata;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    h = await startHarness();
    ({ client: admin, metadata: adminMd } = h.admin());
    await adminCall(admin.setSecret.bind(admin), { name: "k3s-token", value: Buffer.from(K3S_TOKEN) }, adminMd);
    await adminCall(admin.setSecret.bind(admin), { name: "wifi-psk", value: Buffer.from(OTHER_SECRET) }, adminMd);
    for (const node of ["n1", "n2", "n9"]) {
      tokens.set(node, (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(admin.enrollNode.bind(admin), { node }, adminMd)).token);
    }
    await h.push("initial inventory");
    agentApi = new AgentServiceClient(`127.0.0.1:${h.coordinator.grpcPort}`, credentials.createSsl(Buffer.from(h.coordinator.caPem)));
  });

  afterAll(async () => {
    agentApi?.close();
    await h?.close();
  });

  const hello = (md: Metadata, node = "") => call<HelloRequest, HelloResponse>(agentApi.hello.bind(agentApi), HelloRequest.fromPartial({ node, agentVersion: "test" }), md);
  const fetchSecrets = (md: Metadata, names: string[], node = "") =>
    call<FetchSecretsRequest, FetchSecretsResponse>(agentApi.fetchSecrets.bind(agentApi), FetchSecretsRequest.fromPartial({ node, names }), md);

  it("a node's own token and name work", async () => {
    const res = await hello(nodeMetadata("n1", tokens.get("n1")!), "n1");
    expect(res.ok && res.res.cluster).toBe("homelab");
    const watch = await firstOfWatch(agentApi, "n1", nodeMetadata("n1", tokens.get("n1")!));
    expect(watch.err).toBeUndefined();
    expect((watch.data as { desired?: { node: string } }).desired?.node).toBe("n1");
  });

  it("node A's token presented as node B is UNAUTHENTICATED, on unary calls and streams", async () => {
    const asB = nodeMetadata("n2", tokens.get("n1")!);
    expectError(await hello(asB), status.UNAUTHENTICATED, 'invalid token for node "n2" (unknown node or wrong token)');
    expectError(await fetchSecrets(asB, []), status.UNAUTHENTICATED);
    const watch = await firstOfWatch(agentApi, "n2", asB);
    expect(watch.err?.code).toBe(status.UNAUTHENTICATED);
    expect(watch.data).toBeUndefined();
  });

  it("a request body naming another node is PERMISSION_DENIED, whatever the call", async () => {
    const n1 = nodeMetadata("n1", tokens.get("n1")!);
    const denied = 'node "n1" may not act for node "n2"';
    expectError(await hello(n1, "n2"), status.PERMISSION_DENIED, denied);
    expectError(await fetchSecrets(n1, [], "n2"), status.PERMISSION_DENIED, denied);
    const report = await call<ReportRequest, ReportResponse>(agentApi.report.bind(agentApi), ReportRequest.fromPartial({ node: "n2", error: "spoofed" }), n1);
    expectError(report, status.PERMISSION_DENIED, denied);
    const watch = await firstOfWatch(agentApi, "n2", n1);
    expect(watch.err?.code).toBe(status.PERMISSION_DENIED);
    expect(watch.err?.details).toBe(denied);
    // The spoofed report did not land on n2.
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(admin.getStatus.bind(admin), {}, adminMd);
    expect(s.nodes.find((n) => n.name === "n2")?.lastError).toBe("");
  });

  it("FetchSecrets returns only the secrets the caller's bundle references", async () => {
    const n1 = nodeMetadata("n1", tokens.get("n1")!);
    const all = await fetchSecrets(n1, []);
    expect(all.ok).toBe(true);
    if (!all.ok) return;
    expect(all.res.secrets.map((s) => [s.name, Buffer.from(s.value).toString()])).toEqual([["k3s-token", K3S_TOKEN]]);
    const named = await fetchSecrets(n1, ["k3s-token"]);
    expect(named.ok && named.res.secrets.map((s) => s.name)).toEqual(["k3s-token"]);
    const other = await fetchSecrets(n1, ["wifi-psk"]);
    expectError(other, status.PERMISSION_DENIED, 'node "n1" has no access to secret "wifi-psk"');
    const mixed = await fetchSecrets(n1, ["k3s-token", "wifi-psk"]);
    expectError(mixed, status.PERMISSION_DENIED);
    expect(JSON.stringify(mixed)).not.toContain(K3S_TOKEN);
    // Enrolled but not in the inventory: no bundle, so no secrets at all.
    const n9 = nodeMetadata("n9", tokens.get("n9")!);
    const none = await fetchSecrets(n9, []);
    expect(none.ok && none.res.secrets).toEqual([]);
    expectError(await fetchSecrets(n9, ["k3s-token"]), status.PERMISSION_DENIED, 'node "n9" has no access to secret "k3s-token"');
  });

  it("unknown nodes, missing headers and malformed tokens get a clear UNAUTHENTICATED", async () => {
    const random = "x".repeat(43);
    expectError(await hello(nodeMetadata("ghost", random)), status.UNAUTHENTICATED, 'invalid token for node "ghost" (unknown node or wrong token)');
    const noNode = new Metadata();
    noNode.set(AUTH_HEADER, bearer(tokens.get("n1")!));
    expectError(await hello(noNode), status.UNAUTHENTICATED, "missing or invalid nk-node header");
    expectError(await hello(nodeMetadata("n1", "short")), status.UNAUTHENTICATED, "missing or malformed bearer token");
    expectError(await hello(nodeMetadata("Not_A_Node", tokens.get("n1")!)), status.UNAUTHENTICATED, "missing or invalid nk-node header");
    expectError(await hello(new Metadata()), status.UNAUTHENTICATED, "missing or malformed bearer token");
    // The status shows an enrolled node the inventory does not name.
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(admin.getStatus.bind(admin), {}, adminMd);
    expect(s.nodes.find((n) => n.name === "n9")).toMatchObject({ enrolled: true, lastError: "enrolled but not in the inventory" });
  });

  it("re-enrolling a node revokes its old token at once", async () => {
    const old = tokens.get("n2")!;
    expect((await hello(nodeMetadata("n2", old))).ok).toBe(true);
    const fresh = (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(admin.enrollNode.bind(admin), { node: "n2" }, adminMd)).token;
    expectError(await hello(nodeMetadata("n2", old)), status.UNAUTHENTICATED);
    expect((await hello(nodeMetadata("n2", fresh))).ok).toBe(true);
  });

  it("admin calls without the admin token, with a wrong one or with a node token are UNAUTHENTICATED", async () => {
    const getStatus = (md: Metadata) => call<GetStatusRequest, GetStatusResponse>(admin.getStatus.bind(admin), {}, md);
    const listSecrets = (md: Metadata) => call<ListSecretsRequest, ListSecretsResponse>(admin.listSecrets.bind(admin), {}, md);
    const wrong = new Metadata();
    wrong.set(AUTH_HEADER, bearer("a".repeat(43)));
    const asNode = nodeMetadata("n1", tokens.get("n1")!);
    for (const md of [new Metadata(), wrong, asNode]) {
      expectError(await getStatus(md), status.UNAUTHENTICATED);
      expectError(await listSecrets(md), status.UNAUTHENTICATED);
      const enroll = await call<EnrollNodeRequest, EnrollNodeResponse>(admin.enrollNode.bind(admin), { node: "intruder" }, md);
      expectError(enroll, status.UNAUTHENTICATED);
    }
    expectError(await getStatus(wrong), status.UNAUTHENTICATED, "invalid admin token (unknown, revoked or mistyped)");
    // Nothing was enrolled by the refused calls, and the right token still works.
    const ok = await getStatus(adminMd);
    expect(ok.ok && ok.res.nodes.some((n) => n.name === "intruder")).toBe(false);
    // The HTTP admin API refuses too.
    const res = await h.fetch("/api/v1/nodes/intruder/enroll", { method: "POST" });
    expect(res.status).toBe(401);
    const wrongHttp = await h.fetch("/api/v1/rollout/pause", {
      method: "POST",
      headers: { authorization: `Bearer ${"b".repeat(43)}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "x" }),
    });
    expect(wrongHttp.status).toBe(401);
    await eventually(async () => {
      const s = await adminCall<GetStatusRequest, GetStatusResponse>(admin.getStatus.bind(admin), {}, adminMd);
      return s.rollout?.paused === false ? s : undefined;
    }, 2_000, "rollout not paused");
  });
});

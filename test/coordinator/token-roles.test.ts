// Scoped tokens over real TLS: each role may do exactly its actions on every admin gRPC method, HTTP route and the
// git remote; revoked and rotated tokens are refused at once.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client, Metadata, credentials, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceService, type CreateTokenRequest, type CreateTokenResponse, type EnrollNodeRequest, type EnrollNodeResponse, type ListSecretsRequest, type ListSecretsResponse, type ListTokensRequest, type ListTokensResponse, type RevokeTokenRequest, type RevokeTokenResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { methodRole, roleAllows, type Role } from "../../coordinator/src/auth/index.js";
import { adminCall, startHarness, type Harness } from "../support/coordinator-harness.js";

const run = promisify(execFile);
const ROLES: readonly Role[] = ["viewer", "operator", "admin"];
const DENIED = new Set([status.PERMISSION_DENIED, status.UNAUTHENTICATED]);

describe("scoped tokens", () => {
  let h: Harness;
  let raw: Client;
  const tokens = new Map<Role, string>();

  const md = (token: string): Metadata => {
    const m = new Metadata();
    m.set(AUTH_HEADER, bearer(token));
    return m;
  };
  /** Calls any AdminService method with an empty request (all defaults); resolves to the gRPC status code. */
  const callRaw = (path: string, streaming: boolean, token: string): Promise<number> =>
    new Promise((resolve) => {
      const ident = (b: Buffer) => b;
      if (!streaming) return void raw.makeUnaryRequest(path, ident, ident, Buffer.alloc(0), md(token), (err: ServiceError | null) => resolve(err ? err.code : status.OK));
      const call = raw.makeServerStreamRequest(path, ident, ident, Buffer.alloc(0), md(token));
      call.on("data", () => undefined);
      call.on("error", (err: ServiceError) => resolve(err.code));
      call.on("end", () => resolve(status.OK));
    });

  beforeAll(async () => {
    h = await startHarness({ http: { listen: "127.0.0.1:0", publicStatus: false } });
    raw = new Client(`127.0.0.1:${h.coordinator.grpcPort}`, credentials.createSsl(Buffer.from(h.coordinator.caPem)));
    const { client, metadata } = h.admin();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("token-roles-k3s-token") }, metadata);
    await h.push("initial inventory");
    tokens.set("admin", h.coordinator.adminToken);
    for (const role of ["viewer", "operator"] as const) {
      const res = await adminCall<CreateTokenRequest, CreateTokenResponse>(client.createToken.bind(client), { name: `t-${role}`, role }, metadata);
      expect(res).toMatchObject({ name: `t-${role}`, role });
      tokens.set(role, res.token);
    }
  }, 180_000);

  /** Every event of the log (audit lines and the rest), as WatchEvents lists them. */
  const auditLines = (): Promise<Event[]> => {
    const { client, metadata } = h.admin();
    return new Promise<Event[]>((resolve, reject) => {
      const got: Event[] = [];
      const call = client.watchEvents({ afterSeq: 0, tail: 10_000, follow: false }, metadata);
      call.on("data", (m: { event?: Event }) => m.event && got.push(m.event));
      call.on("end", () => resolve(got));
      call.on("error", reject);
    });
  };

  afterAll(async () => {
    raw?.close();
    await h?.close();
  });

  it("allows each role exactly the gRPC methods of its level, on every AdminService method", async () => {
    const methods = Object.values(AdminServiceService);
    expect(methods.length).toBeGreaterThanOrEqual(19);
    const table: string[] = [];
    for (const m of methods) {
      const name = m.path.split("/").pop()!;
      for (const role of ROLES) {
        const code = await callRaw(m.path, m.responseStream, tokens.get(role)!);
        const allowed = !DENIED.has(code);
        table.push(`${name} ${role} ${allowed ? "allowed" : "denied"}`);
        expect(allowed, `${name} as ${role} (code ${code})`).toBe(roleAllows(role, methodRole(name)));
        if (!allowed) expect(code, `${name} as ${role}`).toBe(status.PERMISSION_DENIED);
      }
      expect(await callRaw(m.path, m.responseStream, "x".repeat(43)), `${name} with an unknown token`).toBe(status.UNAUTHENTICATED);
    }
    // The levels themselves, spelled out for the reader.
    expect(table).toEqual(expect.arrayContaining(["GetStatus viewer allowed", "PauseRollout viewer denied", "PauseRollout operator allowed", "EnrollNode operator denied", "CreateToken admin allowed", "ListSecrets viewer denied"]));
    // Empty PauseRollout calls above paused the rollout: resume for the tests below.
    await callRaw(AdminServiceService.resumeRollout.path, false, tokens.get("admin")!);
  });

  it("allows each role exactly its HTTP routes (status page and read API are viewer's when not public)", async () => {
    const routes: Array<{ method: string; path: string; need: Role; body?: string }> = [
      { method: "GET", path: "/", need: "viewer" },
      { method: "GET", path: "/api/v1/status", need: "viewer" },
      { method: "GET", path: "/api/v1/nodes", need: "viewer" },
      { method: "GET", path: "/metrics", need: "viewer" },
      { method: "POST", path: "/api/v1/rollout/pause", need: "operator", body: JSON.stringify({ reason: "role test" }) },
      { method: "POST", path: "/api/v1/rollout/resume", need: "operator" },
      { method: "POST", path: "/api/v1/rollout/approve", need: "operator" },
      { method: "POST", path: "/api/v1/leases/n9/release", need: "operator", body: JSON.stringify({ reason: "role test" }) },
      { method: "POST", path: "/api/v1/nodes/n9/enroll", need: "admin" },
    ];
    for (const r of routes) {
      const anon = await h.fetch(r.path, { method: r.method, ...(r.body ? { body: r.body, headers: { "content-type": "application/json" } } : {}) });
      expect(anon.status, `${r.method} ${r.path} without a token`).toBe(401);
      for (const role of ROLES) {
        const headers: Record<string, string> = { authorization: `Bearer ${tokens.get(role)!}`, ...(r.body ? { "content-type": "application/json" } : {}) };
        const res = await h.fetch(r.path, { method: r.method, headers, ...(r.body ? { body: r.body } : {}) });
        const allowed = res.status !== 401 && res.status !== 403;
        expect(allowed, `${r.method} ${r.path} as ${role}: ${res.status}`).toBe(roleAllows(role, r.need));
        if (!allowed) expect(await res.json(), `${r.method} ${r.path} as ${role}`).toMatchObject({ code: "PERMISSION_DENIED", message: expect.stringContaining(`has role ${role}`) });
      }
    }
    await h.fetch("/api/v1/rollout/resume", { method: "POST", headers: { authorization: `Bearer ${tokens.get("admin")!}` } });
  });

  it("git over HTTPS: a viewer clones but may not push; an operator pushes", async () => {
    const url = (role: Role) => `https://${role}:${tokens.get(role)!}@127.0.0.1:${h.coordinator.httpPort}/git/inventory.git`;
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
    const git = (...args: string[]) => run("git", ["-c", "credential.helper=", "-c", `http.sslCAInfo=${h.caFile}`, ...args], { cwd: h.checkout, env });
    await git("clone", "-q", url("viewer"), join(h.workDir, "viewer-clone"));
    await h.git("commit", "-q", "--allow-empty", "-m", "pushed by a viewer");
    const refused = await git("push", "-q", url("viewer"), "main").then(() => "pushed", (e: { stderr: string }) => e.stderr);
    expect(refused).toMatch(/403/);
    const pushed = await git("push", "-q", url("operator"), "main");
    expect(pushed.stderr).not.toMatch(/error|denied/i);
    const head = (await h.git("rev-parse", "HEAD")).stdout.trim();
    expect((await git("ls-remote", url("viewer"), "refs/heads/main")).stdout.split("\t")[0]).toBe(head);
    const deleted = await git("push", "-q", url("operator"), ":main").then(() => "deleted", (e: { stderr: string }) => e.stderr);
    expect(deleted).toMatch(/deleting main is not allowed/);
    // Each push is an audit line under the pushing token's name: accepted, refused by role, refused by policy.
    const pushes = (await auditLines()).filter((e) => e.fields.action === "push").map((e) => `${e.fields.actor} ${e.fields.target} ${e.fields.outcome}`);
    expect(pushes).toEqual(
      expect.arrayContaining([
        `t-viewer  refused: token "t-viewer" has role viewer; this needs operator`,
        `t-operator refs/heads/main ${head.slice(0, 12)} accepted`,
        `t-operator refs/heads/main ${"0".repeat(12)} refused: refs/heads/main: deleting main is not allowed`,
      ]),
    );
    // The harness pushes with the bootstrap admin token (git user "ops": the user name is not the actor).
    expect(pushes.some((l) => /^admin refs\/heads\/main [0-9a-f]{12} accepted$/.test(l))).toBe(true);
    expect(JSON.stringify(pushes)).not.toContain(tokens.get("operator")!);
  });

  it("a revoked token is refused at once; the token list shows names and roles, never values", async () => {
    const { client, metadata } = h.admin();
    const created = await adminCall<CreateTokenRequest, CreateTokenResponse>(client.createToken.bind(client), { name: "short-lived", role: "operator" }, metadata);
    expect(await callRaw(AdminServiceService.getStatus.path, false, created.token)).toBe(status.OK);
    const listed = await adminCall<ListTokensRequest, ListTokensResponse>(client.listTokens.bind(client), {}, metadata);
    expect(listed.tokens.map((t) => [t.name, t.role])).toEqual([["t-viewer", "viewer"], ["t-operator", "operator"], ["short-lived", "operator"]]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await adminCall<RevokeTokenRequest, RevokeTokenResponse>(client.revokeToken.bind(client), { name: "short-lived" }, metadata);
    expect(await callRaw(AdminServiceService.getStatus.path, false, created.token)).toBe(status.UNAUTHENTICATED);
    expect((await h.fetch("/api/v1/status", { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(401);
    // The bootstrap name and reserved secret names are not for operators.
    await expect(adminCall(client.createToken.bind(client), { name: "admin", role: "viewer" }, metadata)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(adminCall(client.setSecret.bind(client), { name: "nk.api-tokens", value: Buffer.from("x") }, metadata)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const secrets = await adminCall<ListSecretsRequest, ListSecretsResponse>(client.listSecrets.bind(client), {}, metadata);
    expect(secrets.secrets.map((s) => s.name)).not.toContain("nk.api-tokens");
  });

  it("a rotated node token replaces the old one at once, without re-enrolling", async () => {
    const { client, metadata } = h.admin();
    const first = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: "n1" }, metadata);
    const hello = (token: string) =>
      h.agent("n1", token).hello({ agentVersion: "test", bootId: "b", bootedSystem: "", currentSystem: "", systemInfo: undefined, phase: 0, appliedRevision: "", appliedSha256: "", heldFencingToken: 0 });
    expect((await hello(first.token)).cluster).toBe("homelab");
    const rotated = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.rotateNodeToken.bind(client), { node: "n1" }, metadata);
    expect(rotated.token).not.toBe(first.token);
    await expect(hello(first.token)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect((await hello(rotated.token)).cluster).toBe("homelab");
    await expect(adminCall(client.rotateNodeToken.bind(client), { node: "n8" }, metadata)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it("the audit log names the token of every change, allowed or refused, and holds no token value", async () => {
    const events = await auditLines();
    const audit = events.filter((e) => e.kind === "audit").map((e) => `${e.fields.actor} ${e.fields.action} ${e.fields.target} ${(e.fields.outcome ?? "").split(":")[0]}`);
    expect(audit).toEqual(
      expect.arrayContaining([
        "admin CreateToken t-viewer ok",
        "admin CreateToken t-operator ok",
        "admin SetSecret k3s-token ok",
        "admin PauseRollout  ok",
        "t-operator PauseRollout  ok",
        "admin RevokeToken short-lived ok",
        "admin RotateNodeToken n1 ok",
        "admin EnrollNode n1 ok",
        "t-operator POST /api/v1/rollout/pause  ok",
        "t-viewer POST /api/v1/rollout/pause  refused",
        "t-operator POST /api/v1/nodes/:name/enroll n9 refused",
        "admin POST /api/v1/nodes/:name/enroll n9 ok",
      ]),
    );
    // Viewer reads are not audit lines; a viewer's refused change is.
    expect(audit.filter((l) => l.includes("GetStatus"))).toEqual([]);
    expect(audit).toContain("t-viewer PauseRollout  refused");
    expect(audit).toContain("t-operator EnrollNode  refused");
    const everything = JSON.stringify(events);
    for (const value of [...tokens.values(), "token-roles-k3s-token"]) expect(everything).not.toContain(value);
  });
});

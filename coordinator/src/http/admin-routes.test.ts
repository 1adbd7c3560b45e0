// Admin API: authentication, body validation, error mapping and the enroll response, through app.inject().
import { afterEach, describe, expect, it } from "vitest";
import { NkError } from "../../../shared/src/errors/index.js";
import { authHeader, buildTestApp, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t.app.close();
});

const ROUTES = [
  { url: "/api/v1/rollout/pause", payload: { reason: "maintenance" } },
  { url: "/api/v1/rollout/resume", payload: {} },
  { url: "/api/v1/leases/n1/release", payload: { force: true, reason: "stuck" } },
  { url: "/api/v1/nodes/n1/enroll", payload: {} },
];

describe("admin API authentication", () => {
  it.each(ROUTES)("rejects $url without a token and with a wrong one, before calling the core", async ({ url, payload }) => {
    t = buildTestApp();
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: authHeader.authorization.replace("Bearer ", "Basic ") }]) {
      const res = await t.app.inject({ method: "POST", url, payload, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ code: "UNAUTHENTICATED", message: "a valid admin token is required (Authorization: Bearer <token>)" });
    }
    expect(t.admin.calls).toEqual([]);
  });
});

describe("admin API actions", () => {
  it("pauses with a reason and resumes", async () => {
    t = buildTestApp();
    const paused = await t.app.inject({ method: "POST", url: "/api/v1/rollout/pause", payload: { reason: "disk swap on n2" }, headers: authHeader });
    expect(paused.statusCode).toBe(200);
    expect(paused.json().rollout).toMatchObject({ paused: true, pauseReason: "disk swap on n2" });
    const resumed = await t.app.inject({ method: "POST", url: "/api/v1/rollout/resume", headers: authHeader });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json().rollout.paused).toBe(false);
    expect(t.admin.calls).toEqual([{ op: "pause", reason: "disk swap on n2" }, { op: "resume" }]);
  });

  it("approves the rollout past its canaries", async () => {
    t = buildTestApp();
    const approved = await t.app.inject({ method: "POST", url: "/api/v1/rollout/approve", headers: authHeader });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().rollout.stage).toBe("done");
    expect(t.admin.calls).toEqual([{ op: "approve" }]);
  });

  it("releases a lease, force defaulting to false", async () => {
    t = buildTestApp();
    const soft = await t.app.inject({ method: "POST", url: "/api/v1/leases/n3/release", payload: { reason: "done" }, headers: authHeader });
    expect(soft.json()).toEqual({ released: false, message: "n3 is rebooting; use force" });
    const forced = await t.app.inject({ method: "POST", url: "/api/v1/leases/n3/release", payload: { force: true, reason: "node dead" }, headers: authHeader });
    expect(forced.json()).toEqual({ released: true, message: "lease of n3 released" });
    expect(t.admin.calls).toEqual([
      { op: "release", node: "n3", force: false, reason: "done" },
      { op: "release", node: "n3", force: true, reason: "node dead" },
    ]);
  });

  it("enrolls a node and forbids caching the one-time token", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "POST", url: "/api/v1/nodes/n2/enroll", headers: authHeader });
    expect(res.statusCode).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.json()).toEqual({ node: "n2", token: "nk1.n2.one-time-secret" });
  });

  it("maps NODE_UNKNOWN from the core to 404", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "POST", url: "/api/v1/nodes/ghost/enroll", headers: authHeader });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: "NODE_UNKNOWN", message: 'node "ghost" is not in the inventory' });
  });
});

describe("admin API input validation", () => {
  const cases: { name: string; url: string; payload: unknown; message: string }[] = [
    { name: "pause without reason", url: "/api/v1/rollout/pause", payload: {}, message: "body must have required property 'reason'" },
    { name: "pause with empty reason", url: "/api/v1/rollout/pause", payload: { reason: "" }, message: "body/reason must NOT have fewer than 1 characters" },
    { name: "pause with a number", url: "/api/v1/rollout/pause", payload: { reason: 5 }, message: "body/reason must be string" },
    { name: "pause with an unknown key", url: "/api/v1/rollout/pause", payload: { reason: "x", until: "monday" }, message: "body must NOT have additional properties" },
    { name: "release with force as a string", url: "/api/v1/leases/n1/release", payload: { force: "true", reason: "x" }, message: "body/force must be boolean" },
    { name: "release without a body", url: "/api/v1/leases/n1/release", payload: undefined, message: "body must be object" },
    { name: "release of a malformed node name", url: "/api/v1/leases/N_1/release", payload: { reason: "x" }, message: 'params/node must match pattern "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"' },
    { name: "enroll of a malformed node name", url: "/api/v1/nodes/-bad/enroll", payload: undefined, message: 'params/name must match pattern "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"' },
  ];

  it.each(cases)("answers 400 to $name", async ({ url, payload, message }) => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "POST", url, headers: authHeader, ...(payload === undefined ? {} : { payload: payload as object }) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ code: "INVALID_ARGUMENT", message });
    expect(t.admin.calls).toEqual([]);
  });

  it("answers 400 to malformed JSON", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "POST", url: "/api/v1/rollout/pause", headers: { ...authHeader, "content-type": "application/json" }, payload: "{reason:" });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("INVALID_ARGUMENT");
  });

  it("answers 413 to a body over 64 KiB", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "POST", url: "/api/v1/rollout/pause", headers: authHeader, payload: { reason: "x".repeat(70 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe("TOO_LARGE");
  });
});

describe("error replies", () => {
  it("never leaks an unexpected error's message or stack", async () => {
    t = buildTestApp();
    t.admin.pause = async () => {
      throw new Error("ENOENT /var/lib/nk/state.json at FileStore.load (store.ts:42)");
    };
    const res = await t.app.inject({ method: "POST", url: "/api/v1/rollout/pause", payload: { reason: "x" }, headers: authHeader });
    expect(res.statusCode).toBe(500);
    expect(res.body).toBe('{"code":"INTERNAL","message":"internal error"}');
  });

  it("maps NOT_LEADER to 503 and an internal NkError to a bare 500", async () => {
    t = buildTestApp();
    t.admin.resume = async () => {
      throw new NkError("NOT_LEADER", "this coordinator is a standby");
    };
    t.admin.pause = async () => {
      throw new NkError("STATE_CORRUPT", "state.json: bad checksum");
    };
    const resume = await t.app.inject({ method: "POST", url: "/api/v1/rollout/resume", headers: authHeader });
    expect(resume.statusCode).toBe(503);
    expect(resume.json()).toEqual({ code: "NOT_LEADER", message: "this coordinator is a standby" });
    const pause = await t.app.inject({ method: "POST", url: "/api/v1/rollout/pause", payload: { reason: "x" }, headers: authHeader });
    expect(pause.json()).toEqual({ code: "INTERNAL", message: "internal error" });
  });

  it("mounts extra plugins beside the built-in routes", async () => {
    t = buildTestApp({
      extraPlugins: [
        async (app) => {
          app.get("/git/inventory.git/info/refs", async () => "refs");
        },
      ],
    });
    const res = await t.app.inject({ method: "GET", url: "/git/inventory.git/info/refs" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("refs");
  });
});

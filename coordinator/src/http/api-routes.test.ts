// JSON read API, /healthz, 404s and the publicStatus switch, through app.inject().
import { afterEach, describe, expect, it } from "vitest";
import { authHeader, buildTestApp, type TestApp } from "./test-app.js";
import { makeEvent, makeLease, makeSnapshot, TestStatusSource } from "./test-status-source.js";

let t: TestApp;
afterEach(async () => {
  await t.app.close();
});

describe("read API (public status, the default)", () => {
  it("serves the whole snapshot, the nodes and one node", async () => {
    t = buildTestApp();
    const status = await t.app.inject({ method: "GET", url: "/api/v1/status" });
    expect(status.statusCode).toBe(200);
    expect(status.headers["content-type"]).toMatch(/application\/json/);
    expect(status.json()).toEqual(JSON.parse(JSON.stringify(t.status.snapshot())));

    const nodes = await t.app.inject({ method: "GET", url: "/api/v1/nodes" });
    expect(nodes.json().nodes.map((n: { name: string }) => n.name)).toEqual(["n1", "n2", "n3"]);

    const n2 = await t.app.inject({ method: "GET", url: "/api/v1/nodes/n2" });
    expect(n2.statusCode).toBe(200);
    expect(n2.json()).toMatchObject({ name: "n2", role: "server", address: "172.30.190.4" });
  });

  it("answers 404 NODE_UNKNOWN for a node not in the snapshot", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "GET", url: "/api/v1/nodes/ghost" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: "NODE_UNKNOWN", message: 'node "ghost" is not in the inventory' });
  });

  it("serves held leases, the queue and the rollout together", async () => {
    const held = makeLease("n3", { state: "rebooting" });
    const queued = makeLease("n1", { state: "queued", role: "server", queuePosition: 1, waitingReason: "max_unavailable reached (1/1)" });
    t = buildTestApp({ status: new TestStatusSource(makeSnapshot({ leases: [held], queue: [queued] })) });
    const res = await t.app.inject({ method: "GET", url: "/api/v1/leases" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.held).toEqual([held]);
    expect(body.queue).toEqual([queued]);
    expect(body.rollout.revision).toBe(t.status.snapshot().rollout.revision);
  });

  it("serves recent events oldest first, bounded by limit", async () => {
    const events = Array.from({ length: 30 }, (_, i) => makeEvent(i + 1));
    t = buildTestApp({ status: new TestStatusSource(makeSnapshot(), events) });
    const all = await t.app.inject({ method: "GET", url: "/api/v1/events" });
    expect(all.json().events).toHaveLength(30);
    const some = await t.app.inject({ method: "GET", url: "/api/v1/events?limit=5" });
    expect(some.json().events.map((e: { seq: number }) => e.seq)).toEqual([26, 27, 28, 29, 30]);
  });

  it.each(["0", "1001", "abc", "-3", "2.5"])("rejects events?limit=%s with a precise 400", async (limit) => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "GET", url: `/api/v1/events?limit=${limit}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ code: "INVALID_ARGUMENT", message: "querystring/limit must be an integer from 1 to 1000" });
  });

  it("answers unknown routes with a JSON 404", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "GET", url: "/api/v1/nope?x=1" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: "NOT_FOUND", message: "no route for GET /api/v1/nope" });
  });

  it("reports health and leadership on /healthz", async () => {
    t = buildTestApp({ status: new TestStatusSource(makeSnapshot({ leader: false })) });
    const res = await t.app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", leader: false });
  });

  it("sets defensive headers on every response", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "GET", url: "/api/v1/nodes" });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["cache-control"]).toBe("no-cache");
  });
});

describe("read API with publicStatus: false", () => {
  it.each(["/", "/api/v1/status", "/api/v1/nodes", "/api/v1/nodes/n1", "/api/v1/leases", "/api/v1/events", "/metrics", "/events/stream"])(
    "requires the admin token for GET %s",
    async (url) => {
      t = buildTestApp({ publicStatus: false });
      const res = await t.app.inject({ method: "GET", url });
      expect(res.statusCode).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="nk"');
      expect(res.json().code).toBe("UNAUTHENTICATED");
    },
  );

  it("serves them with the token, and keeps /healthz open", async () => {
    t = buildTestApp({ publicStatus: false });
    expect((await t.app.inject({ method: "GET", url: "/api/v1/nodes/n1", headers: authHeader })).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/", headers: authHeader })).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});

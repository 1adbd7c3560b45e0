// The FleetLock routes' error mapping: a follower answers not_leader (503), a failure inside answers the
// operation's own kind with no detail (500), and both are counted; never a stack trace or a fastify error body.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NkError } from "../../../shared/src/errors/index.js";
import { authHeader, buildTestApp, type TestApp } from "./test-app.js";

describe("FleetLock routes", () => {
  let t: TestApp;
  beforeAll(() => {
    t = buildTestApp({
      fleetlock: {
        preReboot: () => Promise.reject(new NkError("NOT_LEADER", "this coordinator does not lead (the leader is c2): retry on another coordinator")),
        steadyState: () => Promise.reject(new Error("disk on fire at /var/lib/nk")),
      },
    });
  });
  afterAll(async () => {
    await t.app.close();
  });

  const post = (op: string) =>
    t.app.inject({ method: "POST", url: `/v1/${op}`, headers: { ...authHeader, "fleet-lock-protocol": "true", "content-type": "application/json" }, payload: { client_params: { id: "h1", group: "default" } } });

  it("answers a follower's NOT_LEADER with 503 not_leader and the leader's name", async () => {
    const res = await post("pre-reboot");
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ kind: "not_leader", value: "this coordinator does not lead (the leader is c2): retry on another coordinator" });
  });

  it("answers an unexpected failure with 500 failed_unlock and no detail", async () => {
    const res = await post("steady-state");
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ kind: "failed_unlock", value: "internal error" });
    const metrics = (await t.metrics.scrape()).body;
    expect(metrics).toContain('nk_fleetlock_requests_total{op="steady-state",outcome="failed_unlock"} 1');
    expect(metrics).toContain('nk_fleetlock_requests_total{op="pre-reboot",outcome="not_leader"} 1');
  });
});

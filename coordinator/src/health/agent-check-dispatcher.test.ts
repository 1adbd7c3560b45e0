import { describe, expect, it } from "vitest";
import type { ClusterCheck } from "../../../shared/src/inventory/model.js";
import { AgentCheckDispatcher, type DispatcherNode } from "./agent-check-dispatcher.js";
import type { CheckRequest } from "./check-dispatcher.js";
import { ManualTimers } from "./test-timers.js";

const NODES: DispatcherNode[] = [
  { name: "n1", role: "server" },
  { name: "n2", role: "server" },
  { name: "n3", role: "agent" },
];

const ceph: ClusterCheck = { name: "ceph", spec: { kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" }, on: "any-server", timeoutSeconds: 30 };

function setup(checks: ClusterCheck[] = [ceph], healthy: (n: string) => boolean = () => true) {
  const timers = new ManualTimers();
  let id = 0;
  const dispatcher = new AgentCheckDispatcher({ checks: () => checks, nodes: () => NODES, timers, isHealthy: healthy, newRequestId: () => `r${++id}` });
  const received: [string, CheckRequest][] = [];
  /** An agent's check stream; answers with `reply` unless it returns null (silent agent). */
  const connect = (node: string, reply: (r: CheckRequest) => string | null = () => "HEALTH_OK") =>
    dispatcher.watch(node, (request) => {
      received.push([node, request]);
      const text = reply(request);
      if (text !== null) queueMicrotask(() => dispatcher.result(node, request.requestId, { name: request.checkName, ok: text === request.expect, message: text, observedAtMs: 0 }));
    });
  return { timers, dispatcher, received, connect };
}

describe("AgentCheckDispatcher", () => {
  it("sends the inventory's command to one connected server and returns its answer", async () => {
    const { dispatcher, received, connect } = setup();
    connect("n3");
    connect("n2");
    const outcome = await dispatcher.run("ceph");
    expect(outcome).toMatchObject({ name: "ceph", ok: true, message: "n2: HEALTH_OK" });
    expect(received).toEqual([["n2", { requestId: "r1", checkName: "ceph", command: ["ceph", "health"], expect: "HEALTH_OK", timeoutMs: 30_000 }]]);
  });

  it("never sends anything that is not a command check of the adopted inventory", async () => {
    const { dispatcher, received, connect } = setup([{ ...ceph, name: "web", spec: { kind: "http", url: "http://x", expectStatus: 200 } }]);
    connect("n1");
    expect(await dispatcher.run("rm -rf /")).toMatchObject({ ok: false, message: "check rm -rf / is not in the adopted inventory" });
    expect(await dispatcher.run("web")).toMatchObject({ ok: false, message: "check web is not a command check" });
    expect(received).toHaveLength(0);
  });

  it("fails when no server is connected", async () => {
    const { dispatcher, connect } = setup();
    connect("n3");
    expect(await dispatcher.run("ceph")).toMatchObject({ ok: false, message: "no server connected to run ceph" });
  });

  it("times out a silent agent and then rotates to another server", async () => {
    const { timers, dispatcher, received, connect } = setup();
    connect("n1", () => null);
    connect("n2");
    const first = dispatcher.run("ceph");
    await timers.advance(31_999);
    expect(received.map(([n]) => n)).toEqual(["n1"]);
    await timers.advance(1);
    expect(await first).toMatchObject({ ok: false, message: "n1 did not answer within 30s" });
    expect(await dispatcher.run("ceph")).toMatchObject({ ok: true, message: "n2: HEALTH_OK" });
    expect(await dispatcher.run("ceph")).toMatchObject({ ok: true, message: "n2: HEALTH_OK" });
    expect(received.map(([n]) => n)).toEqual(["n1", "n2", "n2"]);
    expect(timers.pending()).toBe(0);
  });

  it("prefers healthy servers", async () => {
    const { dispatcher, received, connect } = setup([ceph], (n) => n !== "n1");
    connect("n1");
    connect("n2");
    await dispatcher.run("ceph");
    expect(received.map(([n]) => n)).toEqual(["n2"]);
  });

  it("runs all-servers checks on each server and reports every failure", async () => {
    const all: ClusterCheck = { ...ceph, on: "all-servers" };
    const { dispatcher, received, connect } = setup([all]);
    connect("n1", () => "HEALTH_WARN");
    connect("n3");
    const outcome = await dispatcher.run("ceph");
    expect(outcome).toMatchObject({ ok: false, message: "n1: HEALTH_WARN; n2 is not connected" });
    expect(received.map(([n]) => n)).toEqual(["n1"]);
  });

  it("runs checks on all nodes or on one named node", async () => {
    const everywhere: ClusterCheck = { ...ceph, name: "disk", on: "all" };
    const onN3: ClusterCheck = { ...ceph, name: "n3-only", on: { node: "n3" } };
    const onGhost: ClusterCheck = { ...ceph, name: "ghost", on: { node: "n9" } };
    const { dispatcher, received, connect } = setup([everywhere, onN3, onGhost]);
    for (const n of ["n1", "n2", "n3"]) connect(n);
    expect(await dispatcher.run("disk")).toMatchObject({ ok: true, message: "passed on n1, n2, n3" });
    expect(await dispatcher.run("n3-only")).toMatchObject({ ok: true, message: "n3: HEALTH_OK" });
    expect(await dispatcher.run("ghost")).toMatchObject({ ok: false, message: "node n9 is not in the inventory" });
    expect(received.map(([n, r]) => `${n}:${r.checkName}`)).toEqual(["n1:disk", "n2:disk", "n3:disk", "n3:n3-only"]);
  });

  it("fails a request when its agent disconnects, and ignores answers from other nodes", async () => {
    const { dispatcher, received, connect } = setup();
    const close = connect("n1", () => null);
    const pending = dispatcher.run("ceph");
    const requestId = received[0]?.[1].requestId ?? "";
    dispatcher.result("n2", requestId, { name: "ceph", ok: true, message: "forged", observedAtMs: 0 });
    close();
    expect(await pending).toMatchObject({ ok: false, message: "n1 disconnected before answering" });
    expect(dispatcher.connected()).toEqual([]);
  });

  it("keeps a reconnected stream when the old one closes late", async () => {
    const { dispatcher, connect } = setup();
    const closeOld = connect("n1");
    connect("n1");
    closeOld();
    expect(dispatcher.connected()).toEqual(["n1"]);
    expect(await dispatcher.run("ceph")).toMatchObject({ ok: true });
  });
});

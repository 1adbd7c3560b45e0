// The skew rule's inputs: servers' running k3s and the waiting nodes' next one, a request's own version first.
import { describe, expect, it } from "vitest";
import { decideGrants } from "./grant-decision.js";
import type { NodeFacts } from "./grant-limits.js";
import { withK3sVersions, type K3sVersions } from "./k3s-facts.js";

const base = new Map<string, NodeFacts>([
  ["s1", { role: "server", labels: {} }],
  ["s2", { role: "server", labels: {} }],
  ["a1", { role: "agent", labels: {} }],
  ["a2", { role: "agent", labels: {} }],
]);

function source(reports: Record<string, K3sVersions>) {
  return { versions: (node: string) => reports[node], onChange: () => () => undefined };
}

describe("withK3sVersions", () => {
  it("sets servers' running version and the waiting nodes' next one, nothing else", () => {
    const facts = withK3sVersions(base, [{ node: "a1" }], source({ s1: { running: "1.31.2+k3s1", next: "1.32.0+k3s1" }, a1: { running: "1.31.2+k3s1", next: "1.32.0+k3s1" }, a2: { next: "1.32.0+k3s1" } }));
    expect(facts.get("s1")?.k3s).toEqual({ running: "1.31.2+k3s1" });
    expect(facts.get("s2")?.k3s).toBeUndefined();
    expect(facts.get("a1")?.k3s).toEqual({ next: "1.32.0+k3s1" });
    expect(facts.get("a2")?.k3s).toBeUndefined();
  });

  it("takes the version a request carries over the node's last report (the report may arrive after the request)", () => {
    const facts = withK3sVersions(base, [{ node: "a1", k3sNext: "1.32.0+k3s1" }], source({ s1: { running: "1.31.2+k3s1" }, a1: { running: "1.31.2+k3s1" } }));
    expect(facts.get("a1")?.k3s).toEqual({ next: "1.32.0+k3s1" });
  });

  it("returns the facts unchanged while nobody waits", () => {
    expect(withK3sVersions(base, [], source({ s1: { running: "1.31.2+k3s1" } }))).toBe(base);
  });

  it("feeds the grant rule: an agent queued first waits while a server runs an older k3s; the server goes ahead", () => {
    const reports = { s1: { running: "1.31.2+k3s1" }, s2: { running: "1.31.2+k3s1" } };
    const waiting = [{ node: "a1", k3sNext: "1.32.0+k3s1" }, { node: "s1", k3sNext: "1.32.0+k3s1" }];
    const d = decideGrants({
      now: 0,
      queue: [{ node: "a1", role: "agent" }, { node: "s1", role: "server" }],
      holders: [],
      limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 0 },
      rollout: {},
      health: new Map([...base.keys()].map((n) => [n, { agentFresh: true, healthy: true, k8sReady: null, reason: "" }])),
      clusterChecks: { ok: true, failing: [] },
      nodes: withK3sVersions(base, waiting, source(reports)),
    });
    expect(d.grants.map((g) => g.node)).toEqual(["s1"]);
    expect(d.blocked).toEqual([{ node: "a1", reason: expect.stringContaining("its new k3s 1.32.0+k3s1 would be newer than 1.31.2+k3s1 on server s1") }]);
  });
});

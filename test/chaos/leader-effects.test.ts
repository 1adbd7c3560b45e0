// The HA recorder's leadership check: drains and uncordons attributed by bearer token, held against etcd's election timeline.
import { describe, expect, it } from "vitest";
import type { RecordedRequest } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import type { ElectionTerm } from "./etcd-history.js";
import { HaCluster } from "./ha-cluster.js";
import { leaderEffects, leaderEffectViolations, WATCH_LAG_MS } from "./leader-effects.js";

const term = (id: string, createRev: number, seenAtMs: number, goneAtMs = Infinity): ElectionTerm => ({ id, createRev, seenAtMs, goneAtMs });
const cordon = (by: string, node: string, atMs: number, unschedulable: boolean): RecordedRequest => ({
  method: "PATCH",
  path: `/api/v1/nodes/${node}`,
  query: {},
  contentType: "application/strategic-merge-patch+json",
  body: { spec: { unschedulable } },
  atMs,
  bearer: `chaos-coordinator-${by}`,
});

// c0 leads from 1,000 until its key is seen gone at 10,000; c1's older-than-nothing key then leads; c0 campaigns again at 20,000.
const terms = [term("c0", 10, 1_000, 10_000), term("c1", 12, 2_000), term("c0", 20, 20_000)];

describe("leaderEffects / leaderEffectViolations", () => {
  it("attributes each cordon and uncordon to its coordinator and leadership term; reads are ignored", () => {
    const requests = [cordon("c0", "n1", 5_000, true), cordon("c1", "n1", 12_000, false), { ...cordon("c2", "n1", 6_000, true), method: "GET" }, { ...cordon("x", "n1", 6_000, true), bearer: "someone-else" }];
    const effects = leaderEffects(requests, HaCluster.coordinatorOf, terms);
    expect(effects).toEqual([
      { coordinator: "c0", atMs: 5_000, what: "cordoned n1", term: 10 },
      { coordinator: "c1", atMs: 12_000, what: "PATCH n1", term: 12 },
    ]);
    expect(leaderEffectViolations(effects, terms)).toEqual([]);
  });

  it("flags an uncordon from a deposed leader after its election key was gone, and one from a follower", () => {
    const effects = leaderEffects([cordon("c0", "n2", 10_000 + WATCH_LAG_MS + 500, false), cordon("c2", "n3", 4_000, true)], HaCluster.coordinatorOf, terms);
    const violations = leaderEffectViolations(effects, terms);
    expect(violations).toHaveLength(2);
    expect(violations[0]).toMatch(/^c0 PATCH n2 at .* while etcd's election had c1 \(term 12\), its own term 10 ended at /);
    expect(violations[1]).toMatch(/^c2 cordoned n3 at .* while etcd's election had c0 \(term 10\)$/);
  });

  it("allows a new leader's effect that the watch shows its term for only a little later", () => {
    const late = [term("c1", 5, 1_000, 3_000), term("c2", 7, 3_400)];
    const effects = leaderEffects([cordon("c2", "n1", 3_100, true)], HaCluster.coordinatorOf, late);
    expect(effects[0]!.term).toBeNull();
    expect(leaderEffectViolations(effects, late)).toEqual([]);
  });

  it("flags a candidate that acts while an older key still leads", () => {
    const effects = leaderEffects([cordon("c0", "n1", 25_000, true)], HaCluster.coordinatorOf, terms);
    expect(leaderEffectViolations(effects, terms)).toEqual([expect.stringMatching(/while etcd's election had c1 \(term 12\), its own election key 20 still waiting$/)]);
  });

  it("flags an effect while nobody led", () => {
    const none = [term("c1", 5, 1_000, 3_000)];
    expect(leaderEffectViolations(leaderEffects([cordon("c1", "n1", 3_000 + WATCH_LAG_MS + 1, false)], HaCluster.coordinatorOf, none), none)).toEqual([
      expect.stringMatching(/while etcd's election had no leader, its own term 5 ended at/),
    ]);
  });
});

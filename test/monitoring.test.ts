// The Grafana dashboard and the Prometheus alert rules in deploy/monitoring use only metrics a real coordinator's /metrics exposes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT, startHarness, type Harness } from "./support/coordinator-harness.js";

const DIR = join(REPO_ROOT, "deploy/monitoring");

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}
interface Rule {
  alert: string;
  expr: string;
}

const dashboard = JSON.parse(readFileSync(join(DIR, "grafana-dashboard.json"), "utf8")) as { panels: Panel[] };
const rules = (parse(readFileSync(join(DIR, "alerts.yaml"), "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** Metric names in a PromQL expression: nk's all start with nk_; quoted label values are skipped. */
function metricNames(expr: string): string[] {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set([...unquoted.matchAll(/\bnk_[a-zA-Z0-9_]*\b/g)].map((m) => m[0]))];
}

/** Series names a scrape offers: every `# TYPE` family, with a histogram's and summary's own series. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    if (type === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
  }
  return names;
}

describe("deploy/monitoring", () => {
  let h: Harness;
  let exposed = new Set<string>();

  beforeAll(async () => {
    h = await startHarness();
    const res = await h.fetch("/metrics", { headers: { authorization: `Bearer ${h.coordinator.adminToken}` } });
    expect(res.status).toBe(200);
    exposed = exposedNames(await res.text());
  });
  afterAll(async () => {
    await h?.close();
  });

  it("reads metric names out of PromQL, not label values or functions", () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(nk_a_bucket{job="nk_x"}[5m]))) / nk_b')).toEqual(["nk_a_bucket", "nk_b"]);
  });

  it("has the five alerts the operators asked for, one for manifests that keep failing and one for bundles held back", () => {
    expect(rules.map((r) => r.alert)).toEqual(["NkRolloutHalted", "NkNodeFailed", "NkLeaseDeadlineNear", "NkManifestsFailing", "NkAgentDisconnected", "NkDesiredHeldBack", "NkNoLeader"]);
  });

  it("uses in every alert and panel only metrics the coordinator exposes", () => {
    const used = [...rules.map((r) => [`alert ${r.alert}`, r.expr] as const), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => [`panel ${p.title}`, t.expr] as const))];
    expect(used.length).toBeGreaterThan(20);
    const missing = used.flatMap(([where, expr]) => {
      const names = metricNames(expr);
      expect(names.length, `${where} uses no nk metric`).toBeGreaterThan(0);
      return names.filter((n) => !exposed.has(n)).map((n) => `${where}: ${n}`);
    });
    expect(missing).toEqual([]);
  });
});

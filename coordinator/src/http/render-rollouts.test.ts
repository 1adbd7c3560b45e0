// The rollout timeline and history as HTML: bars where the phases are, everything from outside escaped.
import { describe, expect, it } from "vitest";
import { deriveRollouts, type EventView } from "../status/index.js";
import { renderRolloutHistory, renderTimelines } from "./render-rollouts.js";
import { formatSpan } from "./render-timeline.js";

const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const R1 = "1111111111111111111111111111111111111111";
const R2 = "2222222222222222222222222222222222222222";
const EVIL = `<script>alert(1)</script>`;

function events(): EventView[] {
  const out: EventView[] = [];
  const add = (s: number, kind: string, node: string, revision: string, fields: Record<string, string> = {}) =>
    out.push({ seq: out.length + 1, timeMs: T0 + s * 1000, kind, node, revision, message: kind, fields });
  add(0, "revision-adopted", "", R1, { changed: `n1,${EVIL}`, pushedBy: "ops" });
  for (const [i, node] of ["n1", EVIL].entries()) {
    const s = 1 + i * 40;
    add(s, "lease-granted", node, R1);
    add(s + 5, "lease-phase", node, R1, { to: "rebooting" });
    add(s + 30, "lease-phase", node, R1, { to: "verifying" });
    add(s + 35, "node-applied", node, R1);
    add(s + 36, "lease-released", node, R1);
  }
  add(100, "revision-adopted", "", R2, { changed: "n1" });
  add(101, "lease-queued", "n1", R2);
  return out;
}

const commits = new Map([[R1, { author: `Eve ${EVIL}`, email: "eve@example.test", subject: `subject ${EVIL}` }]]);

describe("rollout timeline and history", () => {
  it("draws the current and previous rollouts with one bar per phase, placed on the time axis", () => {
    const html = renderTimelines(deriveRollouts(events(), commits), T0 + 110_000);
    expect(html).not.toContain(EVIL);
    const cards = [...html.matchAll(/<div class="tl-card" data-revision="(\w+)">/g)].map((m) => m[1]);
    expect(cards).toEqual([R2, R1]);
    const previous = html.slice(html.indexOf(`data-revision="${R1}"`));
    const reboots = [...previous.matchAll(/<rect class="span ph-rebooting" data-node="([^"]*)" data-phase="rebooting" data-start="(\d+)" x="([\d.]+)"/g)];
    expect(reboots.map((m) => m[1])).toEqual(["n1", "&lt;script&gt;alert(1)&lt;/script&gt;"]);
    expect(Number(reboots[0]![3])).toBeLessThan(Number(reboots[1]![3]));
    expect(previous).toContain("took 1m 17s");
    expect(previous).toContain("2 reboots");
    // The current rollout is still open: its queued bar is drawn up to now, with the now line.
    const current = html.slice(0, html.indexOf(`data-revision="${R1}"`));
    expect(current).toContain(`class="span ph-queued open"`);
    expect(current).toContain(`<line class="now"`);
    expect(current).toContain("took <span class=\"busy\">10s so far</span>");
  });

  it("lists every rollout with who pushed it, how long it took, reboots and outcome", () => {
    const html = renderRolloutHistory(deriveRollouts(events(), commits), T0 + 110_000);
    expect(html).not.toContain(EVIL);
    const rows = [...html.matchAll(/<tr data-revision="(\w+)">(.*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual([R2, R1]);
    const cells = (row: string) => [...row.matchAll(/<td data-label="([^"]+)">(.*?)<\/td>/g)].map((m) => [m[1], m[2]!.replace(/<[^>]+>/g, "")]);
    expect(Object.fromEntries(cells(rows[1]![2]!))).toMatchObject({
      Revision: "11111111subject &lt;script&gt;alert(1)&lt;/script&gt;",
      "Pushed by": "Eve &lt;script&gt;alert(1)&lt;/script&gt; pushed as ops",
      Took: "1m 17s",
      "Nodes done": "2/2",
      Reboots: "2",
      Outcome: "converged",
    });
    expect(Object.fromEntries(cells(rows[0]![2]!))).toMatchObject({ "Pushed by": "unknown", Took: "10s so far", "Nodes done": "0/1", Outcome: "rolling out" });
  });

  it("renders nothing before the first adoption, and formats spans to the second", () => {
    expect(renderTimelines([], T0) + renderRolloutHistory([], T0)).toBe("");
    expect([formatSpan(999), formatSpan(65_000), formatSpan(3_725_000)]).toEqual(["1s", "1m 05s", "1h 02m"]);
  });
});

// The status page's Builds section: absent outside builders mode, grouped by revision with counts, escaped.
import { describe, expect, it } from "vitest";
import type { BuildJobView } from "../build/build-farm.js";
import { buildCountsText, renderBuilds } from "./render-builds.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const jobs: BuildJobView[] = [
  { node: "n1", revision: A, state: "pushed", builder: "b1", error: "", disruption: "reboot", disruptionReason: "reboot: kernel linux-6.6.30 → linux-6.6.32" },
  { node: "n2", revision: B, state: "building", builder: "b1", error: "", disruption: "", disruptionReason: "" },
  { node: "n3", revision: B, state: "failed", builder: "b2", error: `<script>alert("x")</script>`, disruption: "", disruptionReason: "" },
  { node: "n4", revision: B, state: "queued", builder: "", error: "", disruption: "", disruptionReason: "" },
];

describe("renderBuilds", () => {
  it("renders nothing outside builders mode and says so when no job exists yet", () => {
    expect(renderBuilds(undefined)).toBe("");
    expect(renderBuilds([])).toBe(`<section id="builds"><h2>Builds</h2><p class="meta">no build jobs yet</p></section>`);
  });

  it("groups nodes by revision with the counts of each state, one row per node", () => {
    const html = renderBuilds(jobs);
    expect([...html.matchAll(/<h3 data-revision="([0-9a-f]+)"><code[^>]*>([0-9a-f]+)<\/code> ([^<]*)<\/h3>/g)].map((m) => [m[1], m[2], m[3]])).toEqual([
      [A, A.slice(0, 8), "1 pushed"],
      [B, B.slice(0, 8), "1 queued, 1 building, 1 failed"],
    ]);
    expect([...html.matchAll(/<tr data-node="(n\d)"><td>n\d<\/td><td><span class="badge ([a-z]*)">([a-z]+)<\/span><\/td><td>([^<]*)<\/td>/g)].map((m) => m.slice(1))).toEqual([
      ["n1", "ok", "pushed", "b1"],
      ["n2", "busy", "building", "b1"],
      ["n3", "bad", "failed", "b2"],
      ["n4", "", "queued", "-"],
    ]);
  });

  it("shows a pushed build's expected disruption with its reason, and nothing for unfinished builds", () => {
    const cells = [...renderBuilds(jobs).matchAll(/<tr data-node="(n\d)">.*?<td class="expected">(.*?)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
    expect(cells).toEqual([
      ["n1", `<span class="badge bad">reboot</span> reboot: kernel linux-6.6.30 → linux-6.6.32`],
      ["n2", ""],
      ["n3", ""],
      ["n4", ""],
    ]);
  });

  it("escapes the builder's error text", () => {
    const html = renderBuilds(jobs);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("counts in pipeline order and leaves out states with no job", () => {
    expect(buildCountsText(jobs)).toBe("1 queued, 1 building, 1 pushed, 1 failed");
    expect(buildCountsText([jobs[0]!])).toBe("1 pushed");
  });
});

import { describe, expect, it } from "vitest";
import { EMPTY_MANIFESTS_VIEW } from "../manifests/manifests-view.js";
import { renderManifests } from "./render-manifests.js";

describe("renderManifests", () => {
  it("shows nothing before a revision, then state, error, retry and each object, escaped", () => {
    expect(renderManifests(EMPTY_MANIFESTS_VIEW, 0)).toBe("");
    const html = renderManifests(
      {
        ...EMPTY_MANIFESTS_VIEW,
        state: "failed",
        revision: "c".repeat(40),
        appliedRevision: "b".repeat(40),
        error: 'ConfigMap web/x (manifests/x.yaml:1): conflict with "kubectl-edit"',
        failures: 2,
        lastAttemptMs: 1_000,
        nextRetryMs: Date.UTC(2026, 0, 1, 12, 0, 10),
        objects: [{ key: "ConfigMap web/<x>", source: "manifests/x.yaml:1", action: "conflict", message: "not forced", health: "unknown", healthDetail: "" }],
      },
      11_000,
    );
    expect(html).toContain("<h2>Manifests</h2>");
    expect(html).toContain('<span class="badge bad">failed</span>');
    expect(html).toContain("applied <code");
    expect(html).toContain("2 failed attempt(s)");
    expect(html).toContain("retry at 12:00:10 UTC");
    expect(html).toContain("conflict with &quot;kubectl-edit&quot;");
    expect(html).toContain("<code>ConfigMap web/&lt;x&gt;</code>");
    expect(html).toContain('<span class="badge bad">conflict</span> not forced');
  });
});

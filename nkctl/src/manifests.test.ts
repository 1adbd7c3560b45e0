import { describe, expect, it } from "vitest";
import { GetManifestsResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { manifestsJson, manifestsText } from "./manifests.js";

const REV = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

describe("nkctl manifests status views", () => {
  const res = GetManifestsResponse.fromPartial({
    mode: "after-servers",
    state: "failed",
    revision: REV,
    appliedRevision: "",
    error: "1 object(s) not applied; nothing pruned",
    nextRetryMs: Date.UTC(2025, 0, 15, 12, 0, 10),
    failures: 2,
    live: true,
    objects: [
      { key: "Namespace web", source: "manifests/web.yaml:1", action: "unchanged", message: "", health: "healthy", healthDetail: "active", exists: true, inSync: true },
      { key: "ConfigMap web/shared", source: "manifests/web.yaml:5", action: "conflict", message: 'conflict with "kubectl-edit": .data.mode', health: "healthy", healthDetail: "exists", exists: true, inSync: false },
      { key: "Deployment.apps web/web", source: "manifests/web.yaml:12", action: "pending", message: "", health: "missing", healthDetail: "not in the cluster", exists: false, inSync: false },
    ],
  });

  it("prints the state, the error, the retry and one row per object", () => {
    expect(manifestsText(res)).toBe(
      [
        "state     failed (mode after-servers)",
        "revision  a1b2c3d4e5f6",
        "applied   never",
        "error     1 object(s) not applied; nothing pruned",
        "retry     2025-01-15T12:00:10.000Z (after 2 failed attempt(s))",
        "OBJECT                   SOURCE                 LAST APPLY                                          IN SYNC  HEALTH",
        "Namespace web            manifests/web.yaml:1   unchanged                                           yes      healthy (active)",
        'ConfigMap web/shared     manifests/web.yaml:5   conflict: conflict with "kubectl-edit": .data.mode  no       healthy (exists)',
        "Deployment.apps web/web  manifests/web.yaml:12  pending                                             missing  missing (not in the cluster)",
        "",
      ].join("\n"),
    );
  });

  it("gives scripts exists/inSync only when the cluster was read", () => {
    const json = manifestsJson(res) as { objects: Record<string, unknown>[] };
    expect(json.objects[1]).toEqual({ key: "ConfigMap web/shared", source: "manifests/web.yaml:5", action: "conflict", message: 'conflict with "kubectl-edit": .data.mode', health: "healthy", healthDetail: "exists", exists: true, inSync: false });
    const recorded = manifestsJson({ ...res, live: false }) as { objects: Record<string, unknown>[] };
    expect(recorded.objects[0]).not.toHaveProperty("inSync");
  });
});

// The server-rendered status page: content, escaping of everything from outside, and its security headers.
import { afterEach, describe, expect, it } from "vitest";
import { renderStatusPage } from "./render-status-page.js";
import { buildTestApp, type TestApp } from "./test-app.js";
import { makeEvent, makeLease, makeNode, makeRollout, makeSnapshot, REV_B, T0, TestStatusSource } from "./test-status-source.js";

let t: TestApp | undefined;
afterEach(async () => {
  await t?.app.close();
  t = undefined;
});

const EVIL = `<script>alert("x")</script>`;

describe("status page", () => {
  it("serves HTML with a CSP that allows only its own inline assets", async () => {
    t = buildTestApp();
    const res = await t.app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain("unsafe-inline");
    // No external assets: every src or href is an inline data: URI.
    const refs = [...res.body.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs).toEqual(["data:,"]);
    expect(res.body).toContain("<title>homelab · nk status</title>");
  });

  it("shows each warning of the coordinator as an alert, escaped", () => {
    const html = renderStatusPage(makeSnapshot({ warnings: ["no Kubernetes access (kube: none): <drain> skipped"] }), [], T0);
    expect(html).toContain(`<p class="warning" role="alert">⚠ no Kubernetes access (kube: none): &lt;drain&gt; skipped</p>`);
    expect(renderStatusPage(makeSnapshot(), [], T0)).not.toContain('class="warning"');
  });

  it("shows which node holds the API VIP, none during a failover, and a split brain", () => {
    const nodes = [makeNode("n1", { role: "server", holdsApiVip: true }), makeNode("n2", { role: "server" })];
    const html = renderStatusPage(makeSnapshot({ nodes, apiVip: { address: "172.30.190.10", holders: ["n1"] } }), [], T0);
    expect(html).toContain(`<p class="meta" id="api-vip">API VIP <code>172.30.190.10</code> held by <strong>n1</strong></p>`);
    expect(html).toContain(`<strong>n1</strong> <span class="role">server</span> <span class="badge ok" title="holds the Kubernetes API VIP">API VIP</span>`);
    expect(html.match(/>API VIP<\/span>/g)).toHaveLength(1);
    expect(renderStatusPage(makeSnapshot({ apiVip: { address: "172.30.190.10", holders: [] } }), [], T0)).toContain(`<code>172.30.190.10</code> <span class="badge warn">held by no node</span>`);
    expect(renderStatusPage(makeSnapshot({ apiVip: { address: "172.30.190.10", holders: ["n1", "n2"] } }), [], T0)).toContain(`held by <strong>n1, n2</strong> <span class="badge bad">more than one holder</span>`);
    expect(renderStatusPage(makeSnapshot(), [], T0)).not.toContain('id="api-vip"');
  });

  it("shows each node's k3s, and the one its built system would run while an agent waits for the servers", () => {
    const nodes = [
      makeNode("n1", { k3sRunning: "1.31.4+k3s1" }),
      makeNode("n4", { role: "agent", k3sRunning: "1.31.4+k3s1", k3sNext: "1.32.0+k3s1" }),
      makeNode("n5", { role: "none" }),
    ];
    const queue = [makeLease("n4", { state: "queued", queuePosition: 1, waitingReason: "waiting for the servers to upgrade first: its new k3s 1.32.0+k3s1 would be newer than 1.31.4+k3s1 on server n1 (a kubelet must not be newer than its API servers)" })];
    const html = renderStatusPage(makeSnapshot({ nodes, queue }), [], T0);
    expect(html).toMatch(/<tr data-node="n1"[^]*?<div class="sub">k3s 1\.31\.4\+k3s1<\/div>/);
    expect(html).toMatch(/<tr data-node="n4"[^]*?<div class="sub">k3s 1\.31\.4\+k3s1 → 1\.32\.0\+k3s1<\/div>/);
    expect(html).toMatch(/id="queue-table".*n4.*waiting for the servers to upgrade first: its new k3s 1\.32\.0\+k3s1/);
    expect(html.match(/<tr data-node="n5".*?<\/tr>/)?.[0]).not.toContain("k3s");
  });

  it("escapes node names, errors, check names, lease reasons and events", () => {
    const snapshot = makeSnapshot({
      cluster: `lab"><b>`,
      nodes: [makeNode(EVIL, { lastError: `<img src=x onerror=alert(1)>`, healthy: false, checks: [{ name: "<i>ceph</i>", ok: false, message: `"quoted"` }] })],
      queue: [makeLease(EVIL, { queuePosition: 1, state: "queued", waitingReason: "<b>busy</b>" })],
      rollout: makeRollout({ halted: true, haltReason: "<marquee>halt</marquee>" }),
    });
    const html = renderStatusPage(snapshot, [makeEvent(1, { node: EVIL, message: "<svg onload=alert(1)>", fields: { "<k>": "<v>" } })], T0);
    expect(html).not.toContain(EVIL);
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<i>ceph");
    expect(html).not.toContain("<marquee>");
    expect(html).not.toContain("<svg");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("lab&quot;&gt;&lt;b&gt;");
    // Exactly one script element: the page's own.
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it("shows rollout state, drift, failing checks, kube state and leases", () => {
    const snapshot = makeSnapshot({
      rollout: makeRollout({ revision: REV_B, paused: true, pauseReason: "waiting for new disks", blockedReason: "rollout paused", nodesConverged: 1 }),
      nodes: [
        makeNode("n1", { desiredRevision: REV_B, desiredSha256: "sha-b", phase: "built" }),
        makeNode("n2", { healthy: false, checks: [{ name: "ceph", ok: false, message: "HEALTH_WARN" }], k8sReady: false, cordoned: true, connected: false }),
        makeNode("n3", { leaseState: "rebooting", lastReportMs: T0 - 90_000 }),
      ],
      leases: [makeLease("n3", { state: "rebooting" })],
      queue: [makeLease("n1", { state: "queued", queuePosition: 1, waitingReason: "max_unavailable reached (1/1)" })],
    });
    const html = renderStatusPage(snapshot, [], T0);
    expect(html).toContain(`<span class="badge warn big">paused</span>`);
    expect(html).toContain("waiting for new disks");
    expect(html).toContain("Next grant blocked:</span> rollout paused");
    expect(html).toMatch(/<span class="v">1\/3<\/span><span class="k">converged/);
    expect(html).toMatch(/class="drift"[^>]*><code[^>]*>a1b2c3d4<\/code> → <code[^>]*>b2c3d4e5<\/code>/);
    expect(html).toMatch(/<tr data-node="n2" class="row-bad">.*unhealthy.*<li title="HEALTH_WARN">ceph<\/li>.*NotReady.*cordoned/);
    expect(html).toContain(`<span data-since="${T0 - 90_000}">1m ago</span>`);
    expect(html).toMatch(/id="lease-table".*n3.*rebooting.*in 10m/);
    expect(html).toMatch(/id="queue-table".*>1<.*n1.*max_unavailable reached \(1\/1\)/);
    expect(html).toContain("No events yet.");
    expect(html).not.toContain("Canary stage");
  });

  it("shows the canary stage, waiting for approval standing out", () => {
    const rollout = makeRollout({ stage: "awaiting-approval", blockedReason: "canaries (n3) confirmed: waiting for approval (nkctl rollout approve)" });
    const html = renderStatusPage(makeSnapshot({ rollout }), [], T0);
    expect(html).toContain(`<p class="stage"><span class="k">Canary stage:</span> <span class="badge warn">awaiting-approval</span></p>`);
    expect(html).toContain("Next grant blocked:</span> canaries (n3) confirmed: waiting for approval (nkctl rollout approve)");
  });
});

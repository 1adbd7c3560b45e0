// E2E: a real coordinator, five agent processes on SimSystem, real git pushes and gRPC over TLS; the status page's
// rollout timeline watched in real Chromium while the second rollout runs.
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustServerCertArg } from "../support/chromium-trust.js";
import { REPO_ROOT } from "../support/repo-root.js";
import { maxConcurrent, startSimCluster, type SimCluster } from "../support/sim-cluster.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`rolling-upgrade: the browser checks are skipped: ${CHROMIUM} not found (CI installs Debian's chromium)`);
/** Screenshots land here (git-ignored) for a person to look at. */
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");
const WAIT = { timeout: 60_000 };

describe("rolling upgrade", () => {
  let cluster: SimCluster;
  let browser: Browser | undefined;

  beforeAll(async () => {
    cluster = await startSimCluster();
    if (hasChromium) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        // The page is served over HTTPS by the coordinator's CA-signed certificate: Chromium trusts exactly that key.
        args: [trustServerCertArg(await readFile(join(cluster.harness.stateDir, "tls", "server.crt"), "utf8")), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      });
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it("converges every node on the first push, one disruption at a time", async () => {
    const status = await cluster.converged(180_000);
    expect(status.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    const windows = cluster.disruptions();
    expect(windows.length).toBe(5);
    expect(maxConcurrent(windows)).toBe(1);
  }, 240_000);

  it("a nixpkgs pin bump reboots every node again, one at a time, and the status page draws it live", async () => {
    const before = (await cluster.status()).nodes.map((n) => n.appliedSha256);
    const from = cluster.disruptions().length;
    const { page, errors } = browser ? await openStatusPage(browser, `${cluster.harness.coordinator.httpUrl}/`) : { page: undefined, errors: [] };
    const revision = await cluster.harness.git("rev-parse", "HEAD").then((r) => r.stdout.trim());

    await cluster.editAndPush("bump nixpkgs", (doc) => doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05"));
    const pushed = await cluster.harness.git("rev-parse", "HEAD").then((r) => r.stdout.trim());
    if (page) {
      // Mid-rollout, without a reload: the new revision is current, the first one previous, a bar still growing.
      const current = page.locator(`#timeline .tl-card[data-revision="${pushed}"]`);
      await current.locator("rect.span.ph-rebooting").first().waitFor(WAIT);
      await current.locator("rect.span.open").first().waitFor(WAIT);
      await page.screenshot({ path: await artifact("status-timeline-rolling.png"), fullPage: true });
    }

    const status = await cluster.converged(180_000);
    const after = status.nodes.map((n) => n.appliedSha256);
    after.forEach((sha, i) => expect(sha).not.toBe(before[i]));
    const windows = cluster.disruptions();
    expect(windows.length - from).toBe(5);
    expect(maxConcurrent(windows)).toBe(1);
    for (const agent of cluster.agents.values()) expect(agent.starts).toBeGreaterThanOrEqual(3);
    if (!page) return;

    // The fake apiserver's own record of cordons is the independent order the bars must follow.
    const order = windows.slice(from).sort((a, b) => a.fromMs - b.fromMs).map((w) => w.node);
    const current = page.locator(`#timeline .tl-card[data-revision="${pushed}"]`);
    await current.locator(".badge", { hasText: "converged" }).waitFor(WAIT);
    expect(await rebootBars(page, pushed)).toEqual(order);
    // Every bar of a node starts where the one before it ended, and the rows read top to bottom in that order.
    const rows = await current.locator("g.tl-row").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-node")));
    expect(rows).toEqual(order);
    expect(await current.locator("path.applied").count()).toBe(5);
    const previous = page.locator(`#timeline .tl-card[data-revision="${revision}"]`);
    expect(await previous.locator(".tl-label").innerText()).toBe("Previous");
    expect((await rebootBars(page, revision)).sort()).toEqual(["n1", "n2", "n3", "n4", "n5"]);

    const history = page.locator(`#history-table tr[data-revision="${pushed}"]`);
    const cells = await history.locator("td").allInnerTexts();
    expect(cells[0]).toContain("bump nixpkgs");
    expect(cells[1]).toContain("ops");
    expect(cells.slice(4)).toEqual(["5/5", "5", "converged"]);
    const path = await artifact("status-timeline.png");
    await page.screenshot({ path, fullPage: true });
    console.log(`status page screenshots: ${path} and status-timeline-rolling.png beside it`);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);
});

async function openStatusPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
  await page.goto(url);
  await page.locator("#live", { hasText: "live" }).waitFor(WAIT);
  return { page, errors };
}

/** Nodes of one revision's chart that have a rebooting bar, in the order the bars start on the time axis. */
async function rebootBars(page: Page, revision: string): Promise<string[]> {
  const bars = await page.locator(`#timeline .tl-card[data-revision="${revision}"] rect.span.ph-rebooting`).evaluateAll((rects) =>
    rects.map((r) => ({ node: r.getAttribute("data-node") ?? "", x: Number(r.getAttribute("x")), start: Number(r.getAttribute("data-start")) })),
  );
  // The drawn position and the recorded time must agree.
  const byX = [...bars].sort((a, b) => a.x - b.x).map((b) => b.node);
  const byStart = [...bars].sort((a, b) => a.start - b.start).map((b) => b.node);
  expect(byX).toEqual(byStart);
  return byStart;
}

async function artifact(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

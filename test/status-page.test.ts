// The status page in real headless Chromium over HTTPS: it renders the fleet and follows live changes without a reload.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type TestApp } from "../coordinator/src/http/test-app.js";
import { ensureTls } from "../coordinator/src/tls/index.js";
import { trustServerCertArg } from "./support/chromium-trust.js";
import { makeEvent, makeLease, makeNode, makeSnapshot, T0, TestStatusSource } from "../coordinator/src/http/test-status-source.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`status-page browser test skipped: ${CHROMIUM} not found (CI installs Debian's chromium)`);

const WAIT = { timeout: 10_000 };

describe.skipIf(!hasChromium)("status page in Chromium", () => {
  let browser: Browser;
  let t: TestApp;
  let base: string;
  let tlsDir: string;

  beforeAll(async () => {
    // The coordinator's own CA signs the page's certificate; Chromium trusts exactly that key (its SPKI hash).
    tlsDir = await mkdtemp(join(tmpdir(), "nk-status-tls-"));
    const tls = await ensureTls(tlsDir, { hosts: [], clock: Date.now });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [trustServerCertArg(tls.serverCertPem), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const status = new TestStatusSource(
      makeSnapshot({
        nodes: [
          makeNode("n1", { role: "server", address: "172.30.190.3" }),
          makeNode("n2", { role: "server", address: "172.30.190.4" }),
          makeNode("n3", { address: "172.30.190.5", lastError: "previous build timed out" }),
          makeNode("<script>x</script>", { address: "172.30.190.6", connected: false, healthy: null, phase: "" }),
        ],
      }),
      [makeEvent(1, { kind: "revision-accepted", node: "", message: "revision a1b2c3d4 accepted" })],
    );
    // The server's clock runs from the fixtures' T0; the page corrects its own clock by the offset.
    const startedAt = Date.now();
    t = buildTestApp({ status, now: () => T0 + 20_000 + (Date.now() - startedAt), streamIntervalMs: 100, https: { key: tls.serverKeyPem, cert: tls.serverCertPem } });
    base = await t.app.listen({ host: "127.0.0.1", port: 0 });
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:/);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
  });

  async function open(viewport: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${base}/`);
    await page.locator("#live", { hasText: "live" }).waitFor(WAIT);
    return { page, errors };
  }

  it("shows every node, escaped, and follows changes live", async () => {
    const { page, errors } = await open({ width: 1400, height: 900 });
    const rows = page.locator("#node-table tbody tr");
    expect(await rows.count()).toBe(4);
    expect(await rows.nth(0).innerText()).toContain("n1");
    expect(await rows.nth(2).innerText()).toContain("previous build timed out");
    // The hostile name is shown as text, never run.
    expect(await page.locator('tr[data-node="<script>x</script>"] strong').innerText()).toBe("<script>x</script>");
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });

    t.status.updateNode("n2", { phase: "rolled-back", healthy: false, checks: [{ name: "ceph", ok: false, message: "HEALTH_WARN" }] });
    const n2 = page.locator('tr[data-node="n2"]');
    await n2.filter({ hasText: "rolled-back" }).waitFor(WAIT);
    expect(await n2.innerText()).toMatch(/unhealthy[\s\S]*ceph/);
    expect(await n2.getAttribute("class")).toBe("row-bad");

    t.status.set((s) => ({
      ...s,
      nodes: s.nodes.map((n) => (n.name === "n3" ? { ...n, leaseState: "rebooting", phase: "rebooting" } : n)),
      leases: [makeLease("n3", { state: "rebooting" })],
      queue: [makeLease("n1", { role: "server", state: "queued", queuePosition: 1, waitingReason: "n3 holds the only slot" })],
      rollout: { ...s.rollout, blockedReason: "max_unavailable reached (1/1)", nodesConverged: 2 },
    }));
    await page.locator("#lease-table tr", { hasText: "n3" }).waitFor(WAIT);
    await page.locator("#queue-table", { hasText: "n3 holds the only slot" }).waitFor(WAIT);
    await page.locator(".blocked", { hasText: "max_unavailable reached (1/1)" }).waitFor(WAIT);

    t.status.emit(makeEvent(2, { kind: "apply-failed", node: "n2", message: "n2 rolled back to generation 41" }));
    await page.locator("#events li").first().filter({ hasText: "n2 rolled back to generation 41" }).waitFor(WAIT);

    // Same document throughout: the updates were applied in place.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(errors).toEqual([]);
    await page.screenshot({ path: "/tmp/nk-status.png", fullPage: true });
    await page.close();
  });

  it("lays the nodes out as cards on a phone", async () => {
    const { page, errors } = await open({ width: 390, height: 844 });
    const display = await page.locator("#node-table tbody tr").first().evaluate((el) => getComputedStyle(el).display);
    expect(display).toBe("block");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await page.screenshot({ path: "/tmp/nk-status-phone.png", fullPage: true });
    await page.close();
  });
});

// Notifications to a real HTTP receiver on 127.0.0.1: each target's body, the HMAC signature, filters and retries.
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NotifyTarget } from "../../../shared/src/inventory/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import { realTimers } from "../lease/index.js";
import type { EventRecord } from "../store/index.js";
import { Notifier, type DeliveryOutcome } from "./notifier.js";

interface Received {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Records every POST; the first `failures` answers are 500. */
async function receiver(failures = 0): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  let left = failures;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(left-- > 0 ? 500 : 200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const halted: EventRecord = { seq: 9, timeMs: 1_717_243_200_000, kind: "rollout-halted", node: "n3", revision: "a1b2c3d4e5f6a7b8", message: "drain of n3 failed: pod db/postgres-0 blocked by PodDisruptionBudget" };

function notifier(targets: NotifyTarget[], outcomes: Array<[string, DeliveryOutcome]> = [], secrets: Record<string, string> = {}): Notifier {
  return new Notifier({
    targets: () => targets,
    cluster: () => "homelab",
    secret: async (name) => (secrets[name] === undefined ? undefined : Buffer.from(secrets[name]!)),
    timers: realTimers,
    log: silentLogger(),
    onDelivery: (target, outcome) => outcomes.push([target, outcome]),
    backoffMs: 1,
    maxAttempts: 3,
  });
}

describe("Notifier", () => {
  it("sends each kind of target its format, the webhook signed with HMAC-SHA256", async () => {
    const r = await receiver();
    const outcomes: Array<[string, DeliveryOutcome]> = [];
    const n = notifier(
      [
        { name: "hook", kind: "webhook", url: `${r.url}/hook`, events: [], hmacSecret: "notify-key" },
        { name: "phone", kind: "ntfy", url: `${r.url}/nk-alerts`, events: ["rollout-halted"] },
        { name: "chat", kind: "slack", url: `${r.url}/services/T0/B0/x`, events: [] },
      ],
      outcomes,
      { "notify-key": "s3cret" },
    );
    n.notice(halted);
    await n.idle();
    const byPath = new Map(r.got.map((g) => [g.path, g]));
    const hook = byPath.get("/hook")!;
    expect(JSON.parse(hook.body)).toEqual({ event: "rollout-halted", cluster: "homelab", kind: "rollout-halted", node: "n3", revision: "a1b2c3d4e5f6a7b8", message: halted.message, seq: 9, timeMs: halted.timeMs });
    expect(hook.headers["x-nk-signature"]).toBe(`sha256=${createHmac("sha256", "s3cret").update(hook.body).digest("hex")}`);
    const ntfy = byPath.get("/nk-alerts")!;
    expect(ntfy.body).toBe("[homelab] rollout-halted n3 (a1b2c3d4e5f6): drain of n3 failed: pod db/postgres-0 blocked by PodDisruptionBudget");
    expect(ntfy.headers).toMatchObject({ title: "nk homelab: rollout-halted", tags: "warning" });
    expect(JSON.parse(byPath.get("/services/T0/B0/x")!.body)).toEqual({ text: ntfy.body });
    expect(outcomes.sort()).toEqual([["chat", "delivered"], ["hook", "delivered"], ["phone", "delivered"]]);
  });

  it("sends only the events a target asks for, and nothing for other journal events", async () => {
    const r = await receiver();
    const n = notifier([{ name: "phone", kind: "ntfy", url: r.url, events: ["canary-awaiting-approval"] }]);
    n.notice(halted);
    n.notice({ ...halted, seq: 10, kind: "lease-granted", message: "lease #4 granted" });
    n.notice({ ...halted, seq: 11, kind: "canary-awaiting-approval", node: undefined, message: "canaries (n4) confirmed" });
    await n.idle();
    expect(r.got.map((g) => g.body)).toEqual(["[homelab] canary-awaiting-approval (a1b2c3d4e5f6): canaries (n4) confirmed"]);
  });

  it("sends rollout-completed, node-rolled-back and node-did-not-return (deadline-passed for a target that asks only for that)", async () => {
    const r = await receiver();
    const n = notifier([
      { name: "all", kind: "webhook", url: `${r.url}/all`, events: [] },
      { name: "deadlines", kind: "slack", url: `${r.url}/deadlines`, events: ["deadline-passed"] },
    ]);
    const base = { timeMs: halted.timeMs, revision: halted.revision };
    n.notice({ ...base, seq: 20, kind: "node-rolled-back", node: "n2", message: "n2 rolled back from revision a1b2c3d4e5f6: unhealthy after activation" });
    n.notice({ ...base, seq: 21, kind: "lease-deadline-missed", node: "n3", message: "node n3 missed its reboot-return deadline", fields: { phase: "reboot-return", state: "rebooting" } });
    n.notice({ ...base, seq: 22, kind: "lease-deadline-missed", node: "n4", message: "node n4 missed its drain deadline", fields: { phase: "drain", state: "draining" } });
    n.notice({ ...base, seq: 23, kind: "rollout-completed", message: "every node runs its desired bundle; 4 of 4 on revision a1b2c3d4e5f6" });
    await n.idle();
    const all = r.got.filter((g) => g.path === "/all").map((g) => JSON.parse(g.body) as { event: string; node: string; seq: number });
    expect(all.sort((a, b) => a.seq - b.seq).map((b) => [b.event, b.node])).toEqual([
      ["node-rolled-back", "n2"],
      ["node-did-not-return", "n3"],
      ["deadline-passed", "n4"],
      ["rollout-completed", ""],
    ]);
    const deadlines = r.got.filter((g) => g.path === "/deadlines").map((g) => (JSON.parse(g.body) as { text: string }).text).sort();
    expect(deadlines).toEqual(["[homelab] deadline-passed n3 (a1b2c3d4e5f6): node n3 missed its reboot-return deadline", "[homelab] deadline-passed n4 (a1b2c3d4e5f6): node n4 missed its drain deadline"]);
  });

  it("retries a failing receiver with backoff and gives up after the last attempt", async () => {
    const flaky = await receiver(2);
    const down = await receiver(99);
    const outcomes: Array<[string, DeliveryOutcome]> = [];
    const n = notifier([{ name: "flaky", kind: "slack", url: flaky.url, events: [] }, { name: "down", kind: "slack", url: down.url, events: [] }], outcomes);
    n.notice(halted);
    await n.idle();
    expect(flaky.got).toHaveLength(3);
    expect(new Set(flaky.got.map((g) => g.body)).size).toBe(1);
    expect(down.got).toHaveLength(3);
    expect(outcomes.filter(([t]) => t === "flaky").map(([, o]) => o)).toEqual(["retried", "retried", "delivered"]);
    expect(outcomes.filter(([t]) => t === "down").map(([, o]) => o)).toEqual(["retried", "retried", "failed"]);
  });

  it("never sends a webhook unsigned when its secret is missing", async () => {
    const r = await receiver();
    const outcomes: Array<[string, DeliveryOutcome]> = [];
    const n = notifier([{ name: "hook", kind: "webhook", url: r.url, events: [], hmacSecret: "absent" }], outcomes);
    n.notice(halted);
    await n.idle();
    expect(r.got).toEqual([]);
    expect(outcomes).toEqual([["hook", "retried"], ["hook", "retried"], ["hook", "failed"]]);
  });
});

// Property test: random acquire/renew/release/flaps/restarts never put more nodes between grant and release than allowed.
import { afterEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import type { EventRecord } from "../store/index.js";
import type { HolderPhase } from "./lease-service.js";
import { acquire, harness, prng, settingsFor, type Harness } from "./test-lease-kit.js";

const ROLES = { s1: "server", s2: "server", s3: "server", a1: "agent", a2: "agent", a3: "agent", a4: "agent" } as const;
const NODES = Object.keys(ROLES);
const MAX = 2;
const MAX_SERVERS = 1;
const STEPS = 400;
let h: Harness;

afterEach(async () => {
  await h.cleanup();
});

/** Replays the durable event log: the holder set after every grant must respect both limits. */
function checkJournal(events: readonly EventRecord[]): { grants: number } {
  const holders = new Map<string, string>();
  let lastToken = 0;
  let grants = 0;
  for (const e of events) {
    const node = e.node ?? "";
    if (e.kind === "lease-granted") {
      expect(holders.has(node), `${node} granted twice (event ${e.seq})`).toBe(false);
      const token = Number(e.fields?.fencingToken);
      expect(token, `token of event ${e.seq}`).toBeGreaterThan(lastToken);
      lastToken = token;
      holders.set(node, e.fields?.role ?? "server");
      grants++;
      expect(holders.size, `holders after event ${e.seq}: ${[...holders.keys()].join(",")}`).toBeLessThanOrEqual(MAX);
      expect([...holders.values()].filter((r) => r === "server").length, `servers after event ${e.seq}`).toBeLessThanOrEqual(MAX_SERVERS);
    } else if (e.kind === "lease-released" || e.kind === "lease-released-failed" || e.kind === "lease-force-released") {
      expect(holders.delete(node), `${node} released without holding (event ${e.seq})`).toBe(true);
    }
  }
  return { grants };
}

async function expectFencedOr<T>(op: Promise<T>): Promise<void> {
  try {
    await op;
  } catch (err) {
    if (!isNkError(err, "LEASE_FENCED")) throw err;
  }
}

/** A request as an agent without its token makes it: refused while the node holds a lease, then the explicit re-attach. */
async function acquireAsAgent(node: string): Promise<void> {
  try {
    await acquire(h, node);
  } catch (err) {
    if (!isNkError(err, "LEASE_HELD")) throw err;
    const lease = await h.manager.reattach(node);
    if (lease) await acquire(h, node, lease.fencingToken);
  }
}

async function run(seed: number): Promise<number> {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  h = await harness(settingsFor(ROLES, { maxUnavailable: MAX, maxUnavailableServers: MAX_SERVERS, settleSeconds: 2, drainTimeoutSeconds: 30, rebootTimeoutSeconds: 60, healthDeadlineSeconds: 30 }), {
    startTimeoutMs: 20_000,
    deadlineGraceMs: 1_000,
    holderSilenceMs: 10_000,
  });
  const flaky = (): void => {
    h.hooks.beforeDisruption = () => Promise.resolve(rnd() < 0.1 ? { ok: false, reason: "eviction failed" } : { ok: true, reason: "drained", cordonedByUs: true });
    h.hooks.afterReturn = () => Promise.resolve(rnd() < 0.1 ? { ok: false, reason: "not Ready" } : { ok: true, reason: "back" });
  };
  flaky();
  const sick = new Set<string>();
  for (let step = 0; step < STEPS; step++) {
    const held = h.manager.held();
    const holder = held.length > 0 ? pick(held) : undefined;
    const stale = rnd() < 0.1;
    const token = holder ? holder.fencingToken + (stale ? pick([-1, 1, 5]) : 0) : 0;
    const r = rnd();
    if (r < 0.25) {
      await expectFencedOr(acquireAsAgent(pick(NODES)));
    } else if (r < 0.45 && holder) {
      const phase = pick<HolderPhase>(["draining", "draining", "rebooting", "verifying", "granted"]);
      await expectFencedOr(h.manager.renew(holder.node, token, phase, `boot-${step}`));
    } else if (r < 0.62 && holder) {
      await expectFencedOr(h.manager.release(holder.node, token, rnd() < 0.85, "done"));
    } else if (r < 0.67) {
      await h.manager.adminRelease(pick(NODES), rnd() < 0.5, "chaos");
    } else if (r < 0.77) {
      // A flap: a node goes unhealthy, or one of the unhealthy ones recovers.
      if (sick.size === 0 || rnd() < 0.25) {
        const node = pick(NODES);
        sick.add(node);
        h.health.set(node, { healthy: false, reason: "flap" });
      } else {
        const node = pick([...sick]);
        sick.delete(node);
        h.health.set(node, {});
      }
    } else if (r < 0.8) {
      h.checks.set(rnd() < 0.3 ? { ok: false, failing: [{ name: "ceph", message: "HEALTH_WARN" }] } : { ok: true, failing: [] });
    } else if (r < 0.87) {
      // Flapping nodes usually settle down as time passes.
      for (const node of [...sick]) {
        if (rnd() < 0.2) continue;
        sick.delete(node);
        h.health.set(node, {});
      }
      await h.advance(Math.floor(rnd() * 40_000));
    } else if (r < 0.94) {
      // Halts are frequent under chaos; the operator keeps resuming so that grants go on.
      await h.manager.resume();
    } else if (r < 0.97) {
      await h.restart();
      flaky();
    } else {
      await h.crash();
      flaky();
    }
    await h.manager.settled();
    const leases = await h.store.listLeases();
    expect(leases.length, `step ${step}`).toBeLessThanOrEqual(MAX);
    expect(leases.filter((l) => ROLES[l.node as keyof typeof ROLES] === "server").length, `step ${step}`).toBeLessThanOrEqual(MAX_SERVERS);
    expect(h.manager.held().map((l) => l.fencingToken)).toEqual(leases.map((l) => l.fencingToken));
  }
  return checkJournal(await h.store.readEvents()).grants;
}

describe("lease invariant under random operations", () => {
  for (const seed of [1, 42, 4242]) {
    it(`never exceeds maxUnavailable ${MAX} / servers ${MAX_SERVERS} (seed ${seed})`, async () => {
      const grants = await run(seed);
      // The run must have exercised many grants, or the invariant says little.
      expect(grants).toBeGreaterThanOrEqual(10);
    });
  }
});

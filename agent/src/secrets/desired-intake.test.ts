// DesiredIntake: secrets land on disk before the bundle is handed on; newest only; a failed fetch waits and retries.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import type { DesiredBundle } from "../../../shared/src/wire/index.js";
import type { AgentEvent } from "../apply/index.js";
import { DesiredIntake } from "./desired-intake.js";
import { SecretWriter } from "./secret-writer.js";

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "nk-intake-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

const bundle = (revision: string, secretNames: string[] = ["k3s-token"]): DesiredBundle => ({
  node: "n1",
  revision,
  sha256: revision.padEnd(64, "0"),
  files: [],
  agentVersion: "1.0.0",
  rebootPolicy: "auto",
  checks: [],
  secretNames,
  healthDeadlineMs: 60_000,
  activationTimeoutMs: 0,
  createdAtMs: 0,
  prebuilt: null,
});

/** A FetchSecrets whose answers the test releases one by one. */
function scriptedFetch() {
  const calls: Array<{ names: readonly string[]; answer: (value: string) => void; fail: (err: Error) => void }> = [];
  const fetch = (names: readonly string[]) =>
    new Promise<ReadonlyMap<string, Buffer>>((resolve, reject) => calls.push({ names, answer: (v) => resolve(new Map(names.map((n) => [n, Buffer.from(v)]))), fail: reject }));
  return { calls, fetch };
}

function setup() {
  const { calls, fetch } = scriptedFetch();
  const events: AgentEvent[] = [];
  const timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  let handed!: () => void;
  let next = new Promise<void>((r) => (handed = r));
  const intake = new DesiredIntake({
    fetch,
    writer: new SecretWriter(join(dir, "secrets")),
    dispatch: (e) => {
      events.push(e);
      handed();
      next = new Promise<void>((r) => (handed = r));
    },
    clock: {
      now: () => 42,
      setTimer: (ms, fn) => {
        const t = { ms, fn, cancelled: false };
        timers.push(t);
        return () => void (t.cancelled = true);
      },
    },
    log: silentLogger(),
    random: () => 1,
  });
  return { calls, events, timers, intake, dispatched: () => next };
}

describe("DesiredIntake", () => {
  it("writes the bundle's secrets, then hands it on", async () => {
    const s = setup();
    const seen = s.dispatched();
    s.intake.offer(bundle("r1"));
    expect(s.calls.map((c) => c.names)).toEqual([["k3s-token"]]);
    s.calls[0]!.answer("t0ken");
    await seen;
    expect(await readFile(join(dir, "secrets", "k3s-token"), "utf8")).toBe("t0ken");
    expect(s.events).toMatchObject([{ type: "desired-received", now: 42, desired: { revision: "r1" } }]);
  });

  it("hands on a bundle without secrets without asking for any", async () => {
    const s = setup();
    const seen = s.dispatched();
    s.intake.offer(bundle("r1", []));
    await seen;
    expect(s.calls).toEqual([]);
    expect(s.events).toMatchObject([{ type: "desired-received" }]);
  });

  it("drops a bundle superseded while its secrets were fetched", async () => {
    const s = setup();
    s.intake.offer(bundle("r1"));
    s.intake.offer(bundle("r2"));
    const seen = s.dispatched();
    s.calls[1]!.answer("new");
    await seen;
    s.calls[0]!.answer("old");
    await new Promise((r) => setImmediate(r));
    expect(s.events.map((e) => (e.type === "desired-received" ? e.desired.revision : e.type))).toEqual(["r2"]);
  });

  it("reports a failed fetch to the state machine and retries it after a backoff; stop cancels the retry", async () => {
    const s = setup();
    const failed = s.dispatched();
    s.intake.offer(bundle("r1"));
    s.calls[0]!.fail(new Error("14 UNAVAILABLE"));
    await failed;
    expect(s.events).toEqual([{ type: "secrets-failed", now: 42, revision: "r1", sha256: "r1".padEnd(64, "0"), error: "14 UNAVAILABLE (next try in 2 s)" }]);
    expect(s.timers.map((t) => t.ms)).toEqual([2_000]);
    s.timers[0]!.fn();
    expect(s.calls).toHaveLength(2);
    const received = s.dispatched();
    s.calls[1]!.answer("t0ken");
    await received;
    expect(s.events.at(-1)).toMatchObject({ type: "desired-received", desired: { revision: "r1" } });

    s.intake.offer(bundle("r2"));
    const again = s.dispatched();
    s.calls[2]!.fail(new Error("14 UNAVAILABLE"));
    await again;
    s.intake.stop();
    expect(s.timers.at(-1)!.cancelled).toBe(true);
  });
});

// StateStore on a temp dir: round trip, atomic replace, corrupt files moved aside with the bad history kept.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { initialAgentState, transition, type AgentEvent, type AgentState } from "../apply/index.js";
import { StateStore } from "./state-store.js";

let dir = "";
let path = "";
const NOW = 1_700_000_000_000;
const store = (): StateStore => new StateStore({ path, now: () => NOW });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-state-"));
  path = join(dir, "sub", "state.json");
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const SHA = "a".repeat(64);

/** A state with every optional part filled: in rollback verification with a lease, a bad entry and facts. */
function busyState(): AgentState {
  const events: AgentEvent[] = [
    { type: "agent-started", now: 1, bootId: "b1", currentSystem: "/nix/store/old", bootedSystem: "/nix/store/old" },
    {
      type: "desired-received",
      now: 2,
      desired: { revision: "r1", sha256: SHA, files: [{ path: "flake.nix", content: "{}" }], rebootPolicy: "auto", checks: [{ name: "c", command: ["true"], expect: "", timeoutMs: 5 }], healthDeadlineMs: 0, activationTimeoutMs: 0 },
    },
    { type: "bundle-written", now: 3, sha256: SHA },
    { type: "build-succeeded", now: 4, sha256: SHA, systemPath: "/nix/store/new", rebootNeeded: false, restartsUnits: ["k3s.service"] },
    { type: "lease-granted", now: 5, fencingToken: 42 },
    { type: "activation-succeeded", now: 6, systemPath: "/nix/store/new" },
    { type: "health-failed", now: 7, systemPath: "/nix/store/new", reason: "k3s \"inactive\"" },
    { type: "activation-succeeded", now: 8, systemPath: "/nix/store/old" },
  ];
  return events.reduce((s, e) => transition(s, e).state, initialAgentState(0));
}

describe("StateStore", () => {
  it("starts idle when there is no file", async () => {
    const loaded = await store().load();
    expect(loaded).toEqual({ state: initialAgentState(NOW), recovered: null, corruptPath: null });
  });

  it("round-trips a full state", async () => {
    const s = busyState();
    expect(s.phase).toBe("rollback-verifying");
    await store().save(s);
    expect((await store().load()).state).toEqual(s);
  });

  it("keeps a target's prebuilt system across a restart, and reads state from before builders as a local build", async () => {
    const s = busyState();
    const prebuilt = { systemPath: "/nix/store/abc-nixos-system", cacheUrl: "file:///var/cache/nk", cachePublicKey: "cache-1:AAAA", fallbackLocal: true };
    const withPrebuilt = { ...s, target: { ...s.target!, prebuilt } };
    await store().save(withPrebuilt);
    expect((await store().load()).state).toEqual(withPrebuilt);
    const { prebuilt: _dropped, ...older } = withPrebuilt.target;
    await writeFile(path, JSON.stringify({ ...s, target: older }));
    expect((await store().load()).state.target?.prebuilt).toBeNull();
  });

  it("reads a target saved before activation timeouts existed with the default timeout", async () => {
    const s = busyState();
    const { activationTimeoutMs: _dropped, ...older } = s.target!;
    await store().save(s);
    await writeFile(path, JSON.stringify({ ...s, target: older }));
    expect((await store().load()).state).toEqual({ ...s, target: { ...older, activationTimeoutMs: 300_000 } });
  });

  it("keeps the generation before the applied one, and reads state saved before it was kept as not known", async () => {
    const s: AgentState = { ...busyState(), applied: { revision: "r2", sha256: "b".repeat(64), systemPath: "/nix/store/b" }, previous: { revision: "r1", sha256: SHA, systemPath: "/nix/store/a" } };
    await store().save(s);
    expect((await store().load()).state).toEqual(s);
    const { previous: _dropped, ...older } = s;
    await writeFile(path, JSON.stringify(older));
    expect((await store().load()).state).toEqual({ ...s, previous: null });
    await writeFile(path, JSON.stringify({ ...s, previous: { revision: "r1" } }));
    expect((await store().load()).recovered?.message).toContain("previous.sha256");
  });

  it("replaces the file atomically and leaves no temp file, readable only by root", async () => {
    const st = store();
    await Promise.all([st.save(initialAgentState(1)), st.save(initialAgentState(2)), st.save(busyState())]);
    expect(await readdir(join(dir, "sub"))).toEqual(["state.json"]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await st.read())?.phase).toBe("rollback-verifying");
  });

  it("moves a truncated file aside, starts idle and keeps the bad history", async () => {
    const s = busyState();
    expect(s.bad).toHaveLength(1);
    const text = JSON.stringify(s);
    // Cut inside whatever follows the bad list, as a torn write or a bad disk could.
    await store().save(s);
    await writeFile(path, text.slice(0, text.indexOf('"queued"') + 5));
    const st = store();
    await expect(st.read()).rejects.toSatisfy((e: unknown) => isNkError(e, "STATE_CORRUPT"));
    const loaded = await st.load();
    expect(loaded.recovered?.code).toBe("STATE_CORRUPT");
    expect(loaded.corruptPath).toBe(`${path}.corrupt-${NOW}`);
    expect(await readFile(loaded.corruptPath!, "utf8")).toBe(text.slice(0, text.indexOf('"queued"') + 5));
    expect(loaded.state).toMatchObject({ phase: "idle", target: null, lease: null, bad: s.bad });
    expect(loaded.state.lastError).toContain("corrupt");
    // The replacement is written at once and valid.
    expect(await st.read()).toEqual(loaded.state);
  });

  it("names the field of a schema violation and salvages the bad list from valid JSON", async () => {
    const s = busyState();
    await store().save(s);
    const broken = { ...JSON.parse(await readFile(path, "utf8")), phase: "exploded" };
    await writeFile(path, JSON.stringify(broken));
    await expect(store().read()).rejects.toThrow("state.phase: unknown value \"exploded\"");
    expect((await store().load()).state.bad).toEqual(s.bad);
  });

  it("refuses a state version it does not know", async () => {
    await store().save(initialAgentState(0));
    await writeFile(path, JSON.stringify({ ...initialAgentState(0), version: 2 }));
    await expect(store().read()).rejects.toThrow("unsupported state version 2");
  });

  it("starts clean from a file that is not even JSON", async () => {
    await store().save(initialAgentState(0));
    await writeFile(path, "\u0000\u0000garbage");
    const loaded = await store().load();
    expect(loaded.state.bad).toEqual([]);
    expect(loaded.recovered?.message).toContain("not valid JSON");
  });
});

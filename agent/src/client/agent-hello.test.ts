// AgentHello: what each Hello carries, and alive.json written once (the guard's rollback is the state machine's: resume).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initialAgentState, type AgentState } from "../apply/index.js";
import { AgentHello } from "./agent-hello.js";
import type { CoordinatorClient } from "./coordinator-client.js";

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "nk-hello-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

const facts = { kernel: "6.6.1", os: "NixOS 24.05", uptimeSeconds: 5, cpuModel: "x", cpuCores: 2, memoryTotalBytes: 1, memoryUsedBytes: 1, diskTotalBytes: 1, diskUsedBytes: 1, hostname: "n1" };
const state: AgentState = { ...initialAgentState(0), applied: { revision: "r7", sha256: "a".repeat(64), systemPath: "/nix/store/sys-7" }, lease: { fencingToken: 12, kind: "reboot", releasing: false } };

function setup(options: { agentPackage?: string; fail?: () => boolean } = {}) {
  const sent: Array<Parameters<CoordinatorClient["hello"]>[0]> = [];
  const hello = new AgentHello({
    hello: async (req) => {
      if (options.fail?.()) throw new Error("14 UNAVAILABLE");
      sent.push(req);
      return {} as Awaited<ReturnType<CoordinatorClient["hello"]>>;
    },
    state: () => state,
    machine: async () => ({ bootId: "boot-1", bootedSystem: "/nix/store/sys-6", currentSystem: "/nix/store/sys-7" }),
    facts: async () => facts,
    agentVersion: "1.2.3",
    stateDir: dir,
    agentPackage: options.agentPackage,
    now: () => Date.UTC(2026, 0, 2),
  });
  return { hello, sent };
}

describe("AgentHello", () => {
  it("sends identity, machine, facts, the applied generation and the held fencing token", async () => {
    const s = setup();
    await s.hello.send();
    expect(s.sent).toEqual([{ agentVersion: "1.2.3", bootId: "boot-1", bootedSystem: "/nix/store/sys-6", currentSystem: "/nix/store/sys-7", systemInfo: facts, appliedRevision: "r7", appliedSha256: "a".repeat(64), phase: 0, heldFencingToken: 12 }]);
    // No NK_AGENT_PACKAGE: no guard to tell.
    await expect(readFile(join(dir, "alive.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes alive.json after the first successful Hello only", async () => {
    let down = true;
    const s = setup({ agentPackage: "/nix/store/pkg-nk-agent", fail: () => down });
    await expect(s.hello.send()).rejects.toThrow("UNAVAILABLE");
    await expect(readFile(join(dir, "alive.json"))).rejects.toMatchObject({ code: "ENOENT" });
    down = false;
    await s.hello.send();
    const alive = JSON.parse(await readFile(join(dir, "alive.json"), "utf8"));
    expect(alive).toMatchObject({ package: "/nix/store/pkg-nk-agent", version: "1.2.3", at: "2026-01-02T00:00:00.000Z" });
    await rm(join(dir, "alive.json"));
    await s.hello.send();
    await expect(readFile(join(dir, "alive.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

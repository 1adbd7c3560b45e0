// The lease manager's k3s inputs come from the agents' reports as the registry (and the store) keep them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { NodeRegistry } from "../fleet/index.js";
import { FileStore, type NodeReport } from "../store/index.js";
import { k3sVersionSource } from "./lease-sources.js";

const report = (atMs: number, k3s: { k3sRunning?: string; k3sNext?: string }): NodeReport => ({
  revision: "r1",
  sha256: "s1",
  phase: "waiting-lease",
  health: { healthy: true, checks: [], observedAtMs: atMs },
  error: "",
  agentVersion: "0.1.0",
  bootId: "b1",
  bootedSystem: "/nix/store/x",
  currentSystem: "/nix/store/x",
  ...k3s,
  atMs,
});

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

it("reads the versions of each node's last report, kept across a restart, and signals only when they change", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nk-k3s-source-"));
  dirs.push(dir);
  const store = await FileStore.open({ dir, clock: () => 1_000 });
  await store.enrollNode("s1");
  const registry = new NodeRegistry(store);
  await registry.load();
  const source = k3sVersionSource(registry);
  let changes = 0;
  source.onChange(() => changes++);
  expect(source.versions("s1")).toBeUndefined();

  await registry.report("s1", report(1_000, { k3sRunning: "1.31.2+k3s1", k3sNext: "1.32.0+k3s1" }));
  expect(source.versions("s1")).toEqual({ running: "1.31.2+k3s1", next: "1.32.0+k3s1" });
  await registry.report("s1", report(2_000, { k3sRunning: "1.31.2+k3s1", k3sNext: "1.32.0+k3s1" }));
  expect(changes).toBe(1);
  await registry.report("s1", report(3_000, { k3sRunning: "1.32.0+k3s1" }));
  expect(changes).toBe(2);
  expect(source.versions("s1")).toEqual({ running: "1.32.0+k3s1" });

  await store.close();
  const reopened = await FileStore.open({ dir, clock: () => 4_000 });
  const again = new NodeRegistry(reopened);
  await again.load();
  expect(k3sVersionSource(again).versions("s1")).toEqual({ running: "1.32.0+k3s1" });
  await reopened.close();
});

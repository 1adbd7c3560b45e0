// NodeEnrollment over a real FileStore and NodeRegistry: tokens that verify, the old one refused, precise refusals.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../git/test-fixtures.js";
import { FileStore } from "../store/index.js";
import { MAX_ENROLL_BATCH, NodeEnrollment } from "./node-enrollment.js";
import { NodeRegistry } from "./node-registry.js";

let dir: string;
let store: FileStore;
let registry: NodeRegistry;
let noted: string[];
let enrollment: NodeEnrollment;
beforeEach(async () => {
  dir = await tempDir("enrollment");
  store = await FileStore.open({ dir, clock: () => 1_000 });
  registry = new NodeRegistry(store);
  await registry.load();
  noted = [];
  enrollment = new NodeEnrollment({ registry, noteEnrolled: async (node) => void noted.push(node), events: store });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("NodeEnrollment", () => {
  it("enrolls a node with a token that verifies, hands it its bundle and journals it", async () => {
    const { node, token } = await enrollment.enroll("n1");
    expect(node).toBe("n1");
    expect(await store.verifyNodeToken("n1", token)).toBe(true);
    expect(noted).toEqual(["n1"]);
    expect((await store.readEvents()).map((e) => [e.kind, e.node])).toEqual([["node-enrolled", "n1"]]);
  });

  it("refuses a name that is not a DNS label", async () => {
    await expect(enrollment.enroll("N_1")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: '"N_1" is not a valid node name (a DNS label)' });
    expect(noted).toEqual([]);
  });

  it("enrolls many nodes in one call: a token each, in the request's order, each journalled and handed its bundle", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `r1-n${i}`);
    const enrolled = await enrollment.enrollMany(names);
    expect(enrolled.map((e) => e.node)).toEqual(names);
    expect(new Set(enrolled.map((e) => e.token)).size).toBe(names.length);
    for (const e of [enrolled[0]!, enrolled[299]!]) expect(await store.verifyNodeToken(e.node, e.token)).toBe(true);
    expect(await store.verifyNodeToken("r1-n0", enrolled[1]!.token)).toBe(false);
    expect(registry.all().map((r) => r.name).sort()).toEqual([...names].sort());
    expect([...noted].sort()).toEqual([...names].sort());
    const events = await store.readEvents();
    expect(events.filter((e) => e.kind === "node-enrolled").map((e) => e.node).sort()).toEqual([...names].sort());
  });

  it("checks every name of a batch before enrolling any", async () => {
    await expect(enrollment.enrollMany(["n1", "N_2", "n3", "bad name"])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: 'not valid node names (DNS labels): "N_2", "bad name"' });
    await expect(enrollment.enrollMany(["n1", "n2", "n1"])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: "node names given twice: n1" });
    await expect(enrollment.enrollMany([])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: "no node names given" });
    await expect(enrollment.enrollMany(Array.from({ length: MAX_ENROLL_BATCH + 1 }, (_, i) => `n${i}`))).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: `${MAX_ENROLL_BATCH + 1} nodes in one call; at most ${MAX_ENROLL_BATCH} (send several calls)` });
    expect(registry.all()).toEqual([]);
    expect(noted).toEqual([]);
  });

  it("rotates a token: the new one verifies, the old one is refused", async () => {
    const first = await enrollment.enroll("n1");
    const rotated = await enrollment.rotateToken("n1");
    expect(await store.verifyNodeToken("n1", rotated.token)).toBe(true);
    expect(await store.verifyNodeToken("n1", first.token)).toBe(false);
    expect((await store.readEvents()).map((e) => e.kind)).toEqual(["node-enrolled", "node-token-rotated"]);
  });

  it("has nothing to rotate for a node that is not enrolled", async () => {
    await expect(enrollment.rotateToken("n9")).rejects.toMatchObject({ code: "NODE_UNKNOWN", message: 'node "n9" is not enrolled: nothing to rotate (nkctl node enroll n9)' });
  });
});

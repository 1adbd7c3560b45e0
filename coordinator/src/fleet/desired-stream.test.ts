// DesiredStream with two coordinators over one store: a coordinator whose catalog trails the store's desired refs sends
// an agent nothing of it (HA chaos seed 26300722: a node was sent a bundle it had rolled back from three pushes
// before); one whose write failed sends the bundle once the store names it.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseDocument } from "yaml";
import { silentLogger } from "../../../shared/src/log/index.js";
import { homelabFiles, tempDir } from "../git/test-fixtures.js";
import type { NodeDesired } from "../inventory/index.js";
import { FileStore } from "../store/index.js";
import { DesiredStream } from "./desired-stream.js";
import { adopterOver, failingOnce } from "./test-fixtures.js";

const OLD = "1".repeat(40);
const NEW = "2".repeat(40);
let dir: string;
let store: FileStore;
let v1: Map<string, string>;
let v2: Map<string, string>;
beforeEach(async () => {
  dir = await tempDir("desired-stream");
  store = await FileStore.open({ dir, clock: () => 1_000 });
  await store.setSecret("k3s-token", Buffer.from("t"));
  for (const n of ["n1", "n2"]) await store.enrollNode(n);
  v1 = await homelabFiles();
  // A commit that changes every node's bundle.
  v2 = new Map(v1);
  v2.set("common/monitoring.nix", `${v1.get("common/monitoring.nix")}\n# the next commit\n`);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A coordinator on the shared store: OLD is older than NEW as upstream's history says. */
function coordinator(on: FileStore = store) {
  return adopterOver(on, { storeIsAhead: async (revision, stored) => revision === OLD && stored === NEW }, { shared: true });
}

/** An agent's stream of n1 at coordinator `c`: the revisions written to it, in order. */
async function agentAt(c: Awaited<ReturnType<typeof coordinator>>, node = "n1", onWrite?: (d: NodeDesired) => unknown) {
  const sent: string[] = [];
  const held: boolean[] = [];
  const stream = new DesiredStream({ node, catalog: c.catalog, registry: c.registry, feed: c.feed, write: (d) => (onWrite?.(d), sent.push(d.revision), true), onHeldBack: (h) => void held.push(h), readRetryMs: 5, log: silentLogger() });
  await stream.open();
  return { sent, held, stream };
}

describe("DesiredStream", () => {
  it("sends an agent that moves to a trailing coordinator nothing until that coordinator catches up", async () => {
    const a = await coordinator();
    const b = await coordinator();
    expect(await a.adopter.adopt(OLD, v1)).toMatchObject({ ok: true });
    expect(await b.adopter.adopt(OLD, v1)).toMatchObject({ ok: true });
    const stayed = await agentAt(b);
    expect(stayed.sent).toEqual([OLD]);

    // A adopts the next push; B has not fetched it yet, and its copy of the store is the one of its own adoption.
    expect(await a.adopter.adopt(NEW, v2)).toMatchObject({ ok: true });
    expect(b.registry.get("n1")?.desired?.revision).toBe(OLD);
    const moved = await agentAt(b);
    expect(moved.sent).toEqual([]);
    expect(moved.held).toEqual([true]);
    expect(b.registry.get("n1")?.desired?.revision).toBe(NEW);

    expect(await b.adopter.adopt(NEW, v2)).toMatchObject({ ok: true });
    expect(moved.sent).toEqual([NEW]);
    expect(moved.held).toEqual([true, false]);
    expect(stayed.sent).toEqual([OLD, NEW]);
    expect(stayed.held).toEqual([]);
    for (const s of [stayed, moved]) s.stream.close();
  });

  it("sends nothing of an older main a restarted coordinator holds while the store is ahead", async () => {
    const a = await coordinator();
    const b = await coordinator();
    await a.adopter.adopt(NEW, v2);
    const agent = await agentAt(b);
    expect(agent.sent).toEqual([]);
    // Restarted on an older main: it serves it in its catalog but writes nothing, and its agents hear nothing of it.
    expect(await b.adopter.adopt(OLD, v1, { startup: true })).toMatchObject({ ok: true });
    expect(b.adopter.deferred).toBe(OLD);
    expect(b.catalog.revision).toBe(OLD);
    expect(agent.sent).toEqual([]);
    await b.adopter.adopt(NEW, v2);
    expect(agent.sent).toEqual([NEW]);
    agent.stream.close();
  });

  it("sends a bundle whose store write failed once the store names it: another coordinator's write, or its own retry", async () => {
    const a = await coordinator();
    await a.adopter.adopt(OLD, v1);
    const b = await coordinator(failingOnce(store, "setRolloutRevision", "etcd transaction failed: 14 UNAVAILABLE"));
    await b.adopter.adopt(OLD, v1);
    const [n1, n2] = [await agentAt(b, "n1"), await agentAt(b, "n2")];
    expect([n1.sent, n2.sent]).toEqual([[OLD], [OLD]]);

    // B's write of NEW fails (cut off from etcd): its catalog moved on, and both streams hold the bundles back.
    await expect(b.adopter.adopt(NEW, v2)).rejects.toThrow("UNAVAILABLE");
    expect(b.catalog.revision).toBe(NEW);
    expect([n1.sent, n2.sent]).toEqual([[OLD], [OLD]]);

    // A writes NEW, and B's telemetry sync brings n1's record in: n1's stream sends it.
    await a.adopter.adopt(NEW, v2);
    b.registry.noteRemote((await store.getNode("n1"))!);
    expect([n1.sent, n2.sent]).toEqual([[OLD, NEW], [OLD]]);
    // B's own adoption again (a retry, or its next sync): n2's stream sends it too, and n1's does not send it twice.
    await b.adopter.adopt(NEW, v2);
    expect([n1.sent, n2.sent]).toEqual([[OLD, NEW], [OLD, NEW]]);
    for (const s of [n1, n2]) s.stream.close();
  });

  it("reads the node's record again when this coordinator wrote the node's ref while the first read was out", async () => {
    const a = await coordinator();
    let b: Awaited<ReturnType<typeof coordinator>> | undefined;
    await a.adopter.adopt(OLD, v1);
    let raced = false;
    const racing = new Proxy(store, {
      get(t, prop) {
        const value = Reflect.get(t, prop) as unknown;
        if (prop === "getNode" && !raced) {
          // The read answers with the store's newest ref while this coordinator's own (older) write of it returns.
          return async (name: string) => ((raced = true), await t.getNode(name).finally(() => b!.registry.noteDesired([{ node: "n1", revision: OLD, sha256: b!.catalog.get("n1")!.bundle.sha256 }])));
        }
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
    b = await coordinator(racing);
    await b.adopter.adopt(OLD, v1);
    await a.adopter.adopt(NEW, v2);
    const moved = await agentAt(b);
    expect(raced).toBe(true);
    expect(b.registry.get("n1")?.desired?.revision).toBe(NEW);
    expect(moved.sent).toEqual([]);
    moved.stream.close();
  });

  it("sends on the store's word only a bundle it held back, never the catalog of an adoption still under way", async () => {
    const a = await coordinator();
    const b = await coordinator();
    await a.adopter.adopt(OLD, v1);
    await b.adopter.adopt(OLD, v1);
    const agent = await agentAt(b);
    await a.adopter.adopt(NEW, v2);
    // B's catalog took NEW, but its adoption has not published it (builders mode plans its builds first); the
    // telemetry sync meanwhile brings A's ref of the same bundle.
    b.catalog.adopt(NEW, b.catalog.inventory!, v2);
    b.registry.noteRemote((await store.getNode("n1"))!);
    expect(agent.sent).toEqual([OLD]);
    b.feed.publish(b.catalog.get("n1")!);
    expect(agent.sent).toEqual([OLD, NEW]);
    agent.stream.close();
  });

  it("hands out a node that comes back into the inventory with the bundle it had, to a stream opened while it was out", async () => {
    const c = await coordinator();
    await c.adopter.adopt(OLD, v1);
    const without = new Map(v1);
    const doc = parseDocument(v1.get("inventory.yaml")!);
    doc.deleteIn(["nodes", "n2"]);
    without.set("inventory.yaml", doc.toString());
    expect(await c.adopter.adopt(NEW, without)).toMatchObject({ ok: true, result: { removed: ["n2"] } });
    const agent = await agentAt(c, "n2");
    expect(agent.sent).toEqual([]);
    // Back, unchanged next to the ref the store kept for it: no bundle changed, yet its stream hears of it.
    const back = "3".repeat(40);
    expect(await c.adopter.adopt(back, v1)).toMatchObject({ ok: true, result: { changed: [] } });
    expect(agent.sent).toEqual([OLD]);
    agent.stream.close();
  });

  it("holds the bundle back while the node's record cannot be read, and never sends a trailing catalog's", async () => {
    const a = await coordinator();
    await a.adopter.adopt(OLD, v1);
    const b = await coordinator(failingOnce(store, "getNode", "etcd range failed: 14 UNAVAILABLE"));
    await b.adopter.adopt(OLD, v1);
    await a.adopter.adopt(NEW, v2);
    // B is cut off from etcd as n1 moves to it: its copy names OLD, as its catalog does, yet the store names NEW.
    const moved = await agentAt(b);
    expect(moved.sent).toEqual([]);
    expect(moved.held).toEqual([true]);
    await vi.waitFor(() => expect(b.registry.get("n1")?.desired?.revision).toBe(NEW));
    expect(moved.sent).toEqual([]);
    await b.adopter.adopt(NEW, v2);
    expect(moved.sent).toEqual([NEW]);
    expect(moved.held).toEqual([true, false]);
    moved.stream.close();
  });

  it("sends the bundle once a read after a failed one finds that the store names it", async () => {
    const c = await coordinator(failingOnce(store, "getNode", "etcd range failed: 14 UNAVAILABLE"));
    await c.adopter.adopt(OLD, v1);
    const agent = await agentAt(c);
    expect(agent.held).toEqual([true]);
    await vi.waitFor(() => expect(agent.sent).toEqual([OLD]));
    expect(agent.held).toEqual([true, false]);
    agent.stream.close();
  });

  it("sends a stream opened during an adoption the new bundle only with the adoption's publish, after its planning", async () => {
    let c: Awaited<ReturnType<typeof coordinator>> | undefined;
    let during: Awaited<ReturnType<typeof agentAt>> | undefined;
    const planned: string[] = [];
    const sentAtOpen: string[] = [];
    const sentPlanned: boolean[] = [];
    // The stream opens once the adoption wrote its refs (so its read finds NEW), before builders mode planned them.
    const opening = new Proxy(store, {
      get(t, prop) {
        const value = Reflect.get(t, prop) as unknown;
        if (prop === "setDesired") {
          return async (...args: Parameters<FileStore["setDesired"]>) => {
            const written = await t.setDesired(...args);
            if (c!.catalog.revision === NEW) {
              during = await agentAt(c!, "n1", (d) => d.revision === NEW && sentPlanned.push(planned.includes(NEW)));
              sentAtOpen.push(...during.sent);
            }
            return written;
          };
        }
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
    c = await adopterOver(opening, { beforePublish: (_inventory, changed) => void planned.push(...changed.map((d) => d.revision)) }, { shared: true });
    await c.adopter.adopt(OLD, v1);
    await c.adopter.adopt(NEW, v2);
    expect(c.registry.get("n1")?.desired?.revision).toBe(NEW);
    expect(planned).toContain(NEW);
    expect(sentAtOpen).toEqual([]);
    expect(during?.sent).toEqual([NEW]);
    expect(sentPlanned).toEqual([true]);
    during?.stream.close();
  });

  it("hands a stream opened before the first adoption the bundle the store already names", async () => {
    const a = await coordinator();
    await a.adopter.adopt(OLD, v1);
    // B starts on the same main; its listeners were up before its first adoption, which changes no bundle.
    const b = await coordinator();
    const early = await agentAt(b);
    expect(early.sent).toEqual([]);
    const first = await b.adopter.adopt(OLD, v1, { startup: true });
    expect(first.ok && first.result.changed).not.toContain("n1");
    expect(early.sent).toEqual([OLD]);
    early.stream.close();
  });

  it("on a store of its own, sends every adoption at once", async () => {
    const c = await adopterOver(store);
    const agent = await agentAt(c);
    await c.adopter.adopt(OLD, v1);
    await c.adopter.adopt(NEW, v2);
    expect(agent.sent).toEqual([OLD, NEW]);
    agent.stream.close();
  });
});

// The chaos test's own instruments: seeded schedules replay, the checkers flag what they must, the proxy cuts.
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "../support/tcp-proxy.js";
import { concurrencyViolations, rebootViolations } from "./chaos-invariants.js";
import { makeSchedule } from "./chaos-schedule.js";
import { LeaseJournal } from "./lease-journal.js";

const isServer = (n: string) => n !== "n4";

describe("chaos schedules", () => {
  const options = { nodes: ["n1", "n2", "n3"], servers: ["n1", "n2", "n3"], steps: 12 };

  it("are the same for the same seed and differ across seeds", () => {
    expect(makeSchedule(42, options)).toEqual(makeSchedule(42, options));
    expect(makeSchedule(42, options).steps).not.toEqual(makeSchedule(43, options).steps);
    const s = makeSchedule(7, options);
    expect(s.steps).toHaveLength(12);
    expect(s.steps[0]!.action.kind).toBe("push");
    expect(s.steps.map((x) => x.atMs)).toEqual([...s.steps.map((x) => x.atMs)].sort((a, b) => a - b));
  });

  it("use every kind of chaos over a few seeds", () => {
    const kinds = new Set(Array.from({ length: 20 }, (_, i) => makeSchedule(i, options).steps.map((s) => s.action.kind)).flat());
    expect([...kinds].sort()).toEqual(["agent-kill", "ceph-warn", "coordinator-kill", "net-cut", "push"]);
  });
});

describe("disruption checkers", () => {
  it("flag more cordoned nodes at once than allowed, and servers on their own", () => {
    const limits = { total: 2, servers: 1 };
    expect(concurrencyViolations([{ node: "n1", fromMs: 0, toMs: 10 }, { node: "n4", fromMs: 5, toMs: 15 }], limits, isServer)).toEqual([]);
    // One ends as the next begins: not overlapping.
    expect(concurrencyViolations([{ node: "n1", fromMs: 0, toMs: 10 }, { node: "n2", fromMs: 10, toMs: 15 }], limits, isServer)).toEqual([]);
    expect(concurrencyViolations([{ node: "n1", fromMs: 0, toMs: 10 }, { node: "n2", fromMs: 9, toMs: 15 }], limits, isServer)).toEqual([expect.stringContaining("2 servers cordoned at once (n1, n2)")]);
    const three = [{ node: "n1", fromMs: 0, toMs: 10 }, { node: "n4", fromMs: 1, toMs: 10 }, { node: "n5", fromMs: 2, toMs: Infinity }];
    expect(concurrencyViolations(three, limits, (n) => n === "n1")).toEqual([expect.stringContaining("3 nodes cordoned at once")]);
  });

  it("flag more nodes of a pool cordoned at once than the pool allows", () => {
    const limits = { total: 3, servers: 1, pools: [{ name: "workers", selector: { pool: "workers" }, nodes: ["n4", "n5"], max: 1 }] };
    expect(concurrencyViolations([{ node: "n1", fromMs: 0, toMs: 10 }, { node: "n4", fromMs: 5, toMs: 15 }], limits, isServer)).toEqual([]);
    expect(concurrencyViolations([{ node: "n4", fromMs: 0, toMs: 10 }, { node: "n5", fromMs: 9, toMs: 15 }], limits, isServer)).toEqual([
      "00:00:00.009: 2 nodes of pool workers disrupted at once (n4, n5) > its max_unavailable 1",
    ]);
  });

  it("flag a reboot outside the node's own cordon window", () => {
    const windows = [{ node: "n1", fromMs: 100, toMs: 200 }];
    expect(rebootViolations([{ node: "n1", code: 75, signal: null, atMs: 150 }], [], windows)).toEqual([]);
    expect(rebootViolations([{ node: "n2", code: 75, signal: null, atMs: 150 }], [], windows)).toHaveLength(1);
    expect(rebootViolations([{ node: "n1", code: 75, signal: null, atMs: 250 }], [], windows)).toHaveLength(1);
    // A kill -9 is not a reboot.
    expect(rebootViolations([{ node: "n1", code: null, signal: "SIGKILL", atMs: 250 }], [], windows)).toEqual([]);
    // A boot-id change is only pinned between two polls: flagged when that interval misses every window.
    expect(rebootViolations([], [{ node: "n1", afterMs: 190, atMs: 260 }], windows)).toEqual([]);
    expect(rebootViolations([], [{ node: "n1", afterMs: 210, atMs: 260 }], windows)).toHaveLength(1);
  });
});

describe("lease journal", () => {
  let dir: string;
  let seq = 0;
  const event = (kind: string, node: string, fields: Record<string, string> = {}, message = "") =>
    appendFile(join(dir, "events.jsonl"), `${JSON.stringify({ seq: ++seq, timeMs: seq, kind, node, message, fields })}\n`);
  const grant = (node: string, token: number) => event("lease-granted", node, { fencingToken: String(token), role: isServer(node) ? "server" : "agent" });
  const release = (node: string, token: number) => event("lease-released", node, {}, `lease #${token} released`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-chaos-journal-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("follows grants and releases and flags every broken rule", async () => {
    const journal = new LeaseJournal(dir, { total: 2, servers: 1 }, isServer);
    await grant("n1", 1);
    await grant("n4", 2);
    await release("n1", 1);
    await release("n4", 2);
    await journal.readNew();
    expect(journal.takeViolations()).toEqual([]);
    expect(journal.peak).toBe(2);

    await grant("n2", 3);
    await grant("n3", 3); // two servers, and a token that did not grow
    await journal.readNew();
    const found = journal.takeViolations();
    expect(found).toEqual([expect.stringContaining("tokens must strictly increase"), expect.stringContaining("2 server leases open")]);
    expect([...journal.openLeases()]).toEqual([["n2", 3], ["n3", 3]]);

    await release("n2", 9); // not the open lease
    // A torn last line is not read until it is complete.
    await appendFile(join(dir, "events.jsonl"), `{"seq":${seq + 2},"timeMs":1,"kind":"lease-released","node":"n3","message":"lease #3 rel`);
    await journal.readNew();
    expect(journal.takeViolations()).toEqual([expect.stringContaining("lease-released of #9 for n2, whose open lease is #3")]);
    expect(journal.seq).toBe(seq);
  });

  it("flags two leases open in a pool of one", async () => {
    const d = await mkdtemp(join(tmpdir(), "nk-chaos-journal-"));
    try {
      await writeFile(join(d, "events.jsonl"), [
        { seq: 1, kind: "lease-granted", node: "n4", fields: { fencingToken: "1", role: "agent" } },
        { seq: 2, kind: "lease-granted", node: "n5", fields: { fencingToken: "2", role: "agent" } },
      ].map((e) => `${JSON.stringify({ timeMs: 1, message: "", ...e })}\n`).join(""));
      const journal = new LeaseJournal(d, { total: 3, servers: 1, pools: [{ name: "workers", selector: { pool: "workers" }, nodes: ["n4", "n5"], max: 1 }] }, isServer);
      await journal.readNew();
      expect(journal.takeViolations()).toEqual(["seq 2: 2 nodes of pool workers disrupted at once (n4, n5) > its max_unavailable 1"]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it("reconciles a lost event with state.json at a kill, and flags a seq gap", async () => {
    const d = await mkdtemp(join(tmpdir(), "nk-chaos-journal-"));
    try {
      await writeFile(join(d, "events.jsonl"), [
        { seq: 1, kind: "lease-granted", node: "n1", fields: { fencingToken: "1" } },
        { seq: 2, kind: "lease-granted", node: "n4", fields: { fencingToken: "2" } },
      ].map((e) => `${JSON.stringify({ timeMs: 1, message: "", ...e })}\n`).join(""));
      const journal = new LeaseJournal(d, { total: 2, servers: 1 }, isServer);
      await journal.readNew();
      // Killed after n1's release reached state.json but before its event, and after a grant of #3 to n2.
      journal.reconcile({ leases: new Map([["n4", { fencingToken: 2 }], ["n2", { fencingToken: 3, role: "server" }]]), lastGranted: 3 }, 0);
      expect(journal.gaps).toEqual([expect.stringContaining("lease #1 of n1 released without a journal event"), expect.stringContaining("lease #3 of n2 granted without a journal event")]);
      expect(journal.takeViolations()).toEqual([]);
      // A lease state.json still holds although the journal released it is a resurrection.
      journal.reconcile({ leases: new Map([["n1", { fencingToken: 1 }], ["n4", { fencingToken: 2 }], ["n2", { fencingToken: 3 }]]), lastGranted: 3 }, 0);
      expect(journal.takeViolations()).toEqual([expect.stringContaining("state.json holds lease #1 of n1")]);
      await appendFile(join(d, "events.jsonl"), `${JSON.stringify({ seq: 4, timeMs: 1, kind: "x", message: "" })}\n`);
      await journal.readNew();
      expect(journal.takeViolations()).toEqual([expect.stringContaining("seq 4 follows seq 2")]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe("tcp proxy", () => {
  let echo: Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    // The proxy resets its upstream side on a cut: the echo server just sees the connection go.
    echo = createServer((s) => s.on("error", () => undefined).pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    proxy = await TcpProxy.start({ port: (echo.address() as { port: number }).port });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  /** Sends a line through the proxy; resolves with the echo, or the error that ended the connection. */
  const roundTrip = (text: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(proxy.port, "127.0.0.1", () => socket.write(text));
      socket.once("data", (d) => (socket.end(), resolve(d.toString())));
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      socket.once("close", () => resolve("closed"));
    });

  it("forwards, drops open connections and refuses new ones while cut, and forwards again after", async () => {
    expect(await roundTrip("hello")).toBe("hello");
    const open = connect(proxy.port, "127.0.0.1");
    await new Promise((r) => open.once("connect", r));
    const ended = new Promise<string>((r) => {
      open.once("error", (err: NodeJS.ErrnoException) => r(err.code ?? "error"));
      open.once("close", () => r("closed"));
    });
    await new Promise((r) => setTimeout(r, 20));
    proxy.cut();
    expect(await ended).toBe("ECONNRESET");
    expect(await roundTrip("refused")).toMatch(/^(error ECONNRESET|closed)$/);
    proxy.restore();
    expect(await roundTrip("again")).toBe("again");
    expect(proxy.isCut).toBe(false);
  });

  it("carries nothing while stalled, on open and new connections alike, closes none, and delivers it all after", async () => {
    const open = connect(proxy.port, "127.0.0.1");
    await new Promise((r) => open.once("connect", r));
    const received: string[] = [];
    let closed = false;
    open.on("data", (d) => received.push(d.toString())).once("close", () => (closed = true));
    open.write("before");
    await new Promise((r) => open.once("data", r));
    proxy.stall();
    open.write("during");
    const later = connect(proxy.port, "127.0.0.1", () => later.write("new"));
    const laterEcho = new Promise<string>((r) => later.once("data", (d) => r(d.toString())));
    // A direct round trip to the echo server: its loop ran, so a byte the proxy had carried would be back by now.
    const direct = connect((echo.address() as { port: number }).port, "127.0.0.1", () => direct.write("ping"));
    expect(await new Promise<string>((r) => direct.once("data", (d) => (direct.end(), r(d.toString()))))).toBe("ping");
    await new Promise((r) => setImmediate(r));
    expect([received, closed, proxy.isStalled]).toEqual([["before"], false, true]);
    proxy.unstall();
    expect(await laterEcho).toBe("new");
    await new Promise<void>((r) => (received.join("").includes("during") ? r() : open.once("data", () => r())));
    expect(received.join("")).toBe("beforeduring");
    expect(proxy.isStalled).toBe(false);
    open.end();
    later.end();
  });
});

describe("HA schedules", () => {
  it("cut coordinators off etcd both ways: connections reset, and packets dropped", () => {
    const ha = { nodes: ["n1", "n2", "n3"], servers: ["n1", "n2", "n3"], steps: 12, ha: true };
    const cuts = Array.from({ length: 30 }, (_, i) => makeSchedule(i, ha).steps.map((s) => s.action)).flat().filter((a) => a.kind === "etcd-cut");
    expect(new Set(cuts.map((a) => (a.kind === "etcd-cut" && a.drop ? "drop" : "reset")))).toEqual(new Set(["drop", "reset"]));
  });
});

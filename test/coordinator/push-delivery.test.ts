// Integration: real git pushes over HTTP reach every connected agent's WatchDesired stream over gRPC+TLS at once.
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { EXAMPLE_NK_SOURCE } from "../../shared/src/render/test-inventory.js";
import type { DesiredBundle } from "../../shared/src/wire/index.js";
import type { ServerStream } from "../../agent/src/client/index.js";
import { adminCall, eventually, startHarness, type Harness } from "../support/coordinator-harness.js";

const run = promisify(execFile);
const NODES = ["n1", "n2", "n3", "n4", "n5"] as const;

/** One agent's open WatchDesired stream and everything it received, with arrival times. */
interface Watch {
  readonly node: string;
  readonly received: Array<{ bundle: DesiredBundle; atMs: number }>;
  stream: ServerStream<DesiredBundle>;
}

describe("push → WatchDesired delivery", () => {
  let h: Harness;
  const tokens = new Map<string, string>();
  const watches = new Map<string, Watch>();
  let status: () => Promise<GetStatusResponse>;
  let first = "";

  const head = async (): Promise<string> => (await h.git("rev-parse", "HEAD")).stdout.trim();
  const open = (node: string): Watch => {
    const watch: Watch = { node, received: [], stream: h.agent(node, tokens.get(node)!).watchDesired("") };
    watch.stream.on("data", (bundle) => watch.received.push({ bundle, atMs: Date.now() }));
    watch.stream.on("error", () => undefined);
    watches.set(node, watch);
    return watch;
  };
  const desiredRevisions = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await status()).nodes.map((n) => [n.name, n.desiredRevision]));

  beforeAll(async () => {
    h = await startHarness();
    const { client, metadata } = h.admin();
    status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("push-delivery-k3s-token") }, metadata);
    for (const node of NODES) {
      const res = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata);
      tokens.set(node, res.token);
    }
    // Agents connect before there is any inventory: they wait on an empty stream.
    for (const node of NODES) open(node);
    await eventually(async () => (await status()).nodes.filter((n) => n.connected).length === NODES.length || undefined, 10_000, "five connected agents");
  });

  afterAll(async () => {
    for (const w of watches.values()) w.stream.cancel();
    await h?.close();
  });

  it("an accepted push reaches every connected agent at once", async () => {
    for (const w of watches.values()) expect(w.received).toEqual([]);
    const stderr = await h.push("initial inventory");
    const pushedAt = Date.now();
    first = await head();
    expect(stderr).toContain(`remote: nk: revision ${first.slice(0, 12)} adopted: 5 node(s) get a new bundle, 0 unchanged`);
    await eventually(() => [...watches.values()].every((w) => w.received.length === 1) || undefined, 5_000, "every agent's first bundle");
    for (const w of watches.values()) {
      const { bundle, atMs } = w.received[0]!;
      expect(bundle.node).toBe(w.node);
      expect(bundle.revision).toBe(first);
      expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(bundle.files.map((f) => f.path)).toContain("configuration.nix");
      expect(bundle.secretNames).toEqual(["k3s-token"]);
      // Published while the post-receive hook ran, i.e. before (or just after) git returned: no polling delay.
      expect(atMs - pushedAt).toBeLessThan(2_000);
    }
    expect(new Set([...watches.values()].map((w) => w.received[0]!.bundle.sha256)).size).toBe(5);
    expect(await desiredRevisions()).toEqual(Object.fromEntries(NODES.map((n) => [n, first])));
    // The coordinator measures adoption → written to the stream for each of the five deliveries.
    const metrics = await (await h.fetch("/metrics")).text();
    expect(metrics).toMatch(/^nk_desired_delivery_latency_seconds_count 5$/m);
  });

  it("a push that changes one node's bundle sends only that node a new revision", async () => {
    const before = new Map([...watches].map(([n, w]) => [n, w.received.length]));
    const n5nix = join(h.checkout, "nodes/n5.nix");
    await writeFile(n5nix, `${await readFile(n5nix, "utf8")}# swappiness tuned later\n`);
    const stderr = await h.push("n5: comment");
    const second = await head();
    expect(stderr).toContain(`remote: nk: revision ${second.slice(0, 12)} adopted: 1 node(s) get a new bundle, 4 unchanged`);
    const n5 = watches.get("n5")!;
    await eventually(() => n5.received.length === before.get("n5")! + 1 || undefined, 5_000, "n5's new bundle");
    expect(n5.received.at(-1)!.bundle.revision).toBe(second);
    expect(n5.received.at(-1)!.bundle.sha256).not.toBe(n5.received.at(-2)!.bundle.sha256);
    // Unchanged nodes get nothing and keep the revision at which their bundle last changed.
    for (const node of ["n1", "n2", "n3", "n4"]) expect(watches.get(node)!.received.length, node).toBe(before.get(node));
    expect(await desiredRevisions()).toEqual({ n1: first, n2: first, n3: first, n4: first, n5: second });
    expect((await status()).rollout?.revision).toBe(second);
  });

  it("a rejected push prints every problem as remote: lines and changes nothing for agents", async () => {
    const before = new Map([...watches].map(([n, w]) => [n, w.received.length]));
    const revisionsBefore = await desiredRevisions();
    const accepted = await head();
    const path = join(h.checkout, "inventory.yaml");
    const original = await readFile(path, "utf8");
    const lines = original.split("\n");
    const n2Line = lines.findIndex((l) => l.startsWith("  n2: { address: 172.30.190.4"));
    const n2Col = lines[n2Line]!.indexOf("172.30.190.4") + 1;
    await writeFile(path, original.replace("n2: { address: 172.30.190.4", "n2: { address: 10.9.9.9").replace("max_unavailable: 1\n", "max_unavailable: 0\n"));
    const err = await h.push("bad: n2 outside the subnet").then(
      () => "",
      (e: Error) => e.message,
    );
    const rejected = await head();
    const remote = err.split("\n").map((l) => l.trimEnd()).filter((l) => l.startsWith("remote: "));
    expect(remote).toContain(`remote: inventory.yaml:${n2Line + 1}:${n2Col} nodes.n2.address: 10.9.9.9 is outside the cluster subnet 172.30.190.0/24`);
    expect(remote.some((l) => /^remote: inventory\.yaml:\d+:\d+ cluster\.rollout\.max_unavailable: /.test(l)), remote.join("\n")).toBe(true);
    expect(remote.at(-1)).toBe(`remote: nk: rejected at ${rejected.slice(0, 12)}: 2 errors (nothing was changed)`);
    expect(err).toMatch(/\[remote rejected\] main -> main \(pre-receive hook declined\)/);

    // Nothing moved: the coordinator's main, the agents' streams, the desired revisions.
    const ls = await h.git("ls-remote", "nk", "refs/heads/main");
    expect(ls.stdout.split("\t")[0]).toBe(accepted);
    await new Promise((r) => setTimeout(r, 300));
    for (const [node, w] of watches) expect(w.received.length, node).toBe(before.get(node));
    expect(await desiredRevisions()).toEqual(revisionsBefore);
    expect((await status()).rollout?.revision).toBe(accepted);
    await h.git("reset", "-q", "--hard", "HEAD~1");
  });

  it("refuses a push whose inputs are not locked, at the line, with the reason and the fix", async () => {
    const accepted = await head();
    const path = join(h.checkout, "inventory.yaml");
    const original = await readFile(path, "utf8");
    const line = original.split("\n").findIndex((l) => l.includes("nixpkgs: { channel: nixos-24.11 }")) + 1;
    const firstClusterKey = original.split("\n").indexOf("cluster:") + 2;
    await writeFile(path, original.replace("channel: nixos-24.11", "channel: nixos-23.11"));
    const remoteLines = async (message: string): Promise<string[]> => {
      const err = await h.push(message).then(
        () => "",
        (e: Error) => e.message,
      );
      expect(err).toMatch(/\[remote rejected\] main -> main \(pre-receive hook declined\)/);
      return err.split("\n").map((l) => l.trimEnd()).filter((l) => l.startsWith("remote: ") && !l.startsWith("remote: nk: rejected"));
    };
    expect(await remoteLines("nixpkgs: 23.11, not pinned")).toEqual([
      `remote: inventory.yaml:${line}:12 cluster.nixpkgs: "github:NixOS/nixpkgs/nixos-23.11" is not locked (nk.lock locks "github:NixOS/nixpkgs/nixos-24.11", "github:NixOS/nixpkgs/nixos-25.05", "${EXAMPLE_NK_SOURCE}"): run nkctl pin`,
    ]);
    await h.git("reset", "-q", "--hard", "HEAD~1");
    await rm(join(h.checkout, "nk.lock"));
    expect(await remoteLines("no lock at all")).toEqual([
      `remote: inventory.yaml:${firstClusterKey}:3 cluster.agent: the nk source is not locked (there is no nk.lock): run nkctl pin (it locks the source the coordinator serves), or set cluster.agent.flake`,
      `remote: inventory.yaml:${line}:12 cluster.nixpkgs: "github:NixOS/nixpkgs/nixos-24.11" is not locked (there is no nk.lock): run nkctl pin`,
    ]);
    expect((await h.git("ls-remote", "nk", "refs/heads/main")).stdout.split("\t")[0]).toBe(accepted);
    await h.git("reset", "-q", "--hard", "HEAD~1");
  });

  it("refuses clone and push without the admin token, with a wrong one, without the CA, or over plain HTTP", async () => {
    const port = h.coordinator.httpPort;
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
    const git = (...args: string[]) => run("git", ["-c", "credential.helper=", "-c", `http.sslCAInfo=${h.caFile}`, ...args], { env });
    const anon = await git("clone", "-q", `https://127.0.0.1:${port}/git/inventory.git`, join(h.workDir, "anon")).then(
      () => "cloned",
      (e: { stderr: string }) => e.stderr,
    );
    expect(anon).toMatch(/could not read Username|Authentication failed/);
    const wrongUrl = `https://ops:not-the-admin-token-000000@127.0.0.1:${port}/git/inventory.git`;
    const wrong = await git("clone", "-q", wrongUrl, join(h.workDir, "wrong")).then(
      () => "cloned",
      (e: { stderr: string }) => e.stderr,
    );
    expect(wrong).toMatch(/Authentication failed/);
    const accepted = await head();
    await h.git("commit", "-q", "--allow-empty", "-m", "pushed with a wrong token");
    const push = await h.git("push", "-q", wrongUrl, "main").then(
      () => "pushed",
      (e: { stderr: string }) => e.stderr,
    );
    expect(push).toMatch(/Authentication failed/);
    expect((await h.git("ls-remote", "nk", "refs/heads/main")).stdout.split("\t")[0]).toBe(accepted);
    await h.git("reset", "-q", "--hard", "HEAD~1");
    // Without the CA git does not trust the listener, even with the right token; plain HTTP gets a clear answer.
    const untrusted = await run("git", ["-c", "credential.helper=", "-c", "http.sslCAInfo=/dev/null", "clone", "-q", h.gitUrl, join(h.workDir, "untrusted")], { env }).then(
      () => "cloned",
      (e: { stderr: string }) => e.stderr,
    );
    expect(untrusted).toMatch(/SSL certificate problem|server certificate verification failed|certificate/i);
    const plain = await run("git", ["-c", "credential.helper=", "clone", "-q", h.gitUrl.replace("https://", "http://"), join(h.workDir, "plain")], { env }).then(
      () => "cloned",
      (e: { stderr: string }) => e.stderr,
    );
    expect(plain).toMatch(/400/);
    const res = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      let text = "";
      socket.on("data", (c: Buffer) => (text += c.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(res).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(res).toContain("This port speaks HTTPS only: use https://");
    // The token in the URL clones, with the CA.
    const ok = await git("clone", "-q", h.gitUrl, join(h.workDir, "ok"));
    expect(ok.stderr).toBe("");
  });

  it("a reconnecting agent's first message is its current desired bundle (resync)", async () => {
    const n3 = watches.get("n3")!;
    const n1 = watches.get("n1")!;
    n3.stream.cancel();
    n1.stream.cancel();
    await eventually(async () => (await status()).nodes.filter((n) => !n.connected).map((n) => n.name).sort().join() === "n1,n3" || undefined, 5_000, "n1 and n3 disconnected");
    const n3Before = n3.received.at(-1)!.bundle;
    const n1Before = n1.received.at(-1)!.bundle;

    // n3 gets extra configuration while its agent is away.
    await writeFile(join(h.checkout, "nodes/n3.nix"), "{ ... }:\n{\n  boot.kernel.sysctl.\"vm.swappiness\" = 10;\n}\n");
    await h.push("n3: swappiness");
    const third = await head();
    expect(n3.received.at(-1)!.bundle).toBe(n3Before);

    const again3 = open("n3");
    const again1 = open("n1");
    await eventually(() => (again3.received.length > 0 && again1.received.length > 0) || undefined, 5_000, "resync on reconnect");
    expect(again3.received[0]!.bundle.revision).toBe(third);
    expect(again3.received[0]!.bundle.sha256).not.toBe(n3Before.sha256);
    const extra = again3.received[0]!.bundle.files.find((f) => f.path === "extra/node.nix");
    expect(extra?.content).toContain("vm.swappiness");
    // An unchanged node resyncs to the same bundle at the revision where it last changed.
    expect(again1.received[0]!.bundle.sha256).toBe(n1Before.sha256);
    expect(again1.received[0]!.bundle.revision).toBe(first);
    // Streams that stayed open got nothing for this push: only n3's bundle changed.
    for (const node of ["n2", "n4"]) expect(watches.get(node)!.received.every((m) => m.bundle.revision !== third), node).toBe(true);
  });
});

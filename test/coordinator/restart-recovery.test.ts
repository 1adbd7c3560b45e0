// Integration: a clean restart and a kill -9 of the coordinator keep nodes, revisions, events, tokens and rollout state.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorClient } from "../../agent/src/client/index.js";
import { AdminServiceClient, type EnrollNodeRequest, type EnrollNodeResponse, type GetStatusRequest, type GetStatusResponse, type ListSecretsRequest, type ListSecretsResponse, type PauseRolloutRequest, type PauseRolloutResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ReportRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { applyPhaseToWire, AUTH_HEADER, bearer, type DesiredBundle } from "../../shared/src/wire/index.js";
import { adminCall, EXAMPLE_DIR, eventually, startHarness, type Harness } from "../support/coordinator-harness.js";
import { CoordinatorProcess, gitBackendsOf, killGitBackendsOf } from "../support/coordinator-process.js";

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" };

/** Every event the coordinator keeps (no follow). */
function allEvents(client: AdminServiceClient, md: Metadata): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const events: Event[] = [];
    const stream = client.watchEvents({ afterSeq: 0, tail: 100_000, follow: false }, md);
    stream.on("data", (m: { event?: Event }) => m.event && events.push(m.event));
    stream.on("end", () => resolve(events));
    stream.on("error", reject);
  });
}

/** The first bundle a WatchDesired stream delivers. */
function firstDesired(agent: CoordinatorClient): Promise<DesiredBundle> {
  return new Promise((resolve, reject) => {
    const stream = agent.watchDesired("");
    stream.on("data", (b) => {
      resolve(b);
      stream.cancel();
    });
    stream.on("error", (err) => (err.code === 1 ? undefined : reject(err)));
  });
}

function report(bundle: DesiredBundle): ReportRequest {
  return ReportRequest.fromPartial({
    revision: bundle.revision,
    bundleSha256: bundle.sha256,
    phase: applyPhaseToWire("confirmed"),
    health: { healthy: true, checks: [], observedAtMs: Date.now() },
    agentVersion: "0.1.0",
    bootId: `boot-${bundle.node}`,
    appliedRevision: bundle.revision,
    appliedSha256: bundle.sha256,
  });
}

/**
 * What must survive a restart: per node enrolled/desired/applied and the rollout. The store keeps
 * desired revisions of enrolled nodes only: a node not enrolled yet keeps its bundle (sha256), but its
 * desired revision is re-derived from the head commit at start.
 */
function durableView(s: GetStatusResponse): Record<string, unknown> {
  return {
    nodes: s.nodes.map((n) => ({
      name: n.name,
      enrolled: n.enrolled,
      desiredRevision: n.enrolled ? n.desiredRevision : "(not stored)",
      desiredSha256: n.desiredSha256,
      appliedRevision: n.appliedRevision,
      appliedSha256: n.appliedSha256,
    })),
    rollout: { revision: s.rollout?.revision, paused: s.rollout?.paused, pauseReason: s.rollout?.pauseReason },
  };
}

const eventKey = (e: Event): string => `${e.seq} ${e.kind} ${e.node} ${e.revision} ${e.message}`;

describe("clean restart (in-process)", () => {
  let h: Harness;
  const tokens = new Map<string, string>();
  const api = () => {
    const { client, metadata } = h.admin();
    return {
      client,
      metadata,
      status: () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata),
    };
  };

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("keeps nodes, revisions, telemetry, events, tokens, secrets and the pause", async () => {
    const { client, metadata, status } = api();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("restart-k3s-token") }, metadata);
    for (const node of ["n1", "n2", "n3"]) tokens.set(node, (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata)).token);
    await h.push("initial");
    const first = (await h.git("rev-parse", "HEAD")).stdout.trim();
    for (const node of ["n1", "n2"]) {
      const agent = h.agent(node, tokens.get(node)!);
      await agent.report(report(await firstDesired(agent)));
    }
    await writeFile(join(h.checkout, "nodes/n5.nix"), `${await readFile(join(h.checkout, "nodes/n5.nix"), "utf8")}# later\n`);
    await h.push("n5 only");
    const second = (await h.git("rev-parse", "HEAD")).stdout.trim();
    await adminCall<PauseRolloutRequest, PauseRolloutResponse>(client.pauseRollout.bind(client), { reason: "maintenance freeze" }, metadata);
    const before = await status();
    const eventsBefore = await allEvents(client, metadata);
    expect(before.nodes.find((n) => n.name === "n1")).toMatchObject({ desiredRevision: first, appliedRevision: first, agentVersion: "0.1.0" });
    expect(before.nodes.find((n) => n.name === "n5")?.desiredRevision).toBe(second);
    expect(eventsBefore.map((e) => e.kind)).toEqual(expect.arrayContaining(["node-enrolled", "revision-adopted", "rollout-paused"]));

    await h.restart();
    const after = api();
    const s = await after.status();
    expect(durableView(s)).toEqual(durableView(before));
    // A clean stop also flushed the best-effort telemetry.
    const telemetry = (x: GetStatusResponse) => x.nodes.filter((n) => n.enrolled).map((n) => ({ name: n.name, phase: n.phase, health: n.health, lastReportMs: n.lastReportMs, agentVersion: n.agentVersion }));
    expect(telemetry(s)).toEqual(telemetry(before));
    expect(s.nodes.find((n) => n.name === "n2")).toMatchObject({ agentVersion: "0.1.0", phase: applyPhaseToWire("confirmed"), health: { healthy: true } });
    expect(s.rollout).toMatchObject({ revision: second, paused: true, pauseReason: "maintenance freeze" });
    const eventsAfter = await allEvents(after.client, after.metadata);
    expect(eventsAfter.slice(0, eventsBefore.length).map(eventKey)).toEqual(eventsBefore.map(eventKey));
    // Old tokens still authenticate; unchanged nodes keep the revision their bundle first appeared in.
    const n3 = h.agent("n3", tokens.get("n3")!);
    const desired = await firstDesired(n3);
    expect(desired.revision).toBe(first);
    expect((await n3.report(report(desired))).haltDisruption).toBe(true);
    const secrets = await adminCall<ListSecretsRequest, ListSecretsResponse>(after.client.listSecrets.bind(after.client), {}, after.metadata);
    expect(secrets.secrets.map((x) => x.name)).toEqual(["k3s-token"]);
  });
});

describe("kill -9 (coordinator process)", () => {
  let work = "";
  let proc: CoordinatorProcess;
  let checkout = "";
  const clients: Array<{ close(): void }> = [];

  const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env: GIT_ENV });
  const connect = async () => {
    const [token, ca] = [await proc.adminToken(), await proc.caPem()];
    const client = new AdminServiceClient(proc.grpcAddress, credentials.createSsl(Buffer.from(ca)));
    clients.push(client);
    const metadata = new Metadata();
    metadata.set(AUTH_HEADER, bearer(token));
    const agent = (node: string, nodeToken: string) => {
      const c = new CoordinatorClient({ addresses: [proc.grpcAddress], node, token: nodeToken, ca });
      clients.push(c);
      return c;
    };
    return { client, metadata, agent, token, status: () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata) };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nk-kill9-"));
    proc = new CoordinatorProcess({ stateDir: join(work, "state"), logFile: join(work, "coordinator.log") });
    await proc.start();
    checkout = join(work, "checkout");
    await cp(EXAMPLE_DIR, checkout, { recursive: true });
    await git("init", "-q", "-b", "main");
    await git("config", "http.sslCAInfo", proc.caFile);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await proc?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("keeps everything acknowledged before the kill", async () => {
    const c = await connect();
    const pushUrl = `https://ops:${c.token}@127.0.0.1:${proc.httpPort}/git/inventory.git`;
    await adminCall(c.client.setSecret.bind(c.client), { name: "k3s-token", value: Buffer.from("kill9-k3s-token") }, c.metadata);
    const tokens = new Map<string, string>();
    for (const node of ["n1", "n2", "n3"]) tokens.set(node, (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(c.client.enrollNode.bind(c.client), { node }, c.metadata)).token);
    await git("add", "-A");
    await git("commit", "-q", "-m", "initial");
    await git("push", "-q", pushUrl, "main");
    const first = (await git("rev-parse", "HEAD")).stdout.trim();
    const n1 = c.agent("n1", tokens.get("n1")!);
    await n1.report(report(await firstDesired(n1)));
    await writeFile(join(checkout, "common/monitoring.nix"), `${await readFile(join(checkout, "common/monitoring.nix"), "utf8")}# every node changes\n`);
    await git("commit", "-q", "-am", "all nodes");
    await git("push", "-q", pushUrl, "main");
    const second = (await git("rev-parse", "HEAD")).stdout.trim();

    // The last acknowledged steps come right before the kill, with no pause for a background flush.
    tokens.set("n4", (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(c.client.enrollNode.bind(c.client), { node: "n4" }, c.metadata)).token);
    const n2 = c.agent("n2", tokens.get("n2")!);
    const n2Desired = await firstDesired(n2);
    expect(n2Desired.revision).toBe(second);
    await n2.report(report(n2Desired));
    await adminCall<PauseRolloutRequest, PauseRolloutResponse>(c.client.pauseRollout.bind(c.client), { reason: "before the crash" }, c.metadata);
    const before = await c.status();
    const eventsBefore = await allEvents(c.client, c.metadata);
    await proc.kill();

    await proc.start();
    const d = await connect();
    const s = await eventually(() => d.status().catch(() => undefined), 10_000, "the restarted coordinator");
    expect(durableView(s)).toEqual(durableView(before));
    const byName = new Map(s.nodes.map((n) => [n.name, n]));
    expect(byName.get("n1")).toMatchObject({ enrolled: true, desiredRevision: second, appliedRevision: first });
    expect(byName.get("n2")).toMatchObject({ enrolled: true, desiredRevision: second, appliedRevision: second, appliedSha256: n2Desired.sha256 });
    expect(byName.get("n4")).toMatchObject({ enrolled: true, desiredRevision: second, appliedRevision: "" });
    expect(s.rollout).toMatchObject({ revision: second, paused: true, pauseReason: "before the crash" });
    const eventsAfter = await allEvents(d.client, d.metadata);
    expect(eventsAfter.slice(0, eventsBefore.length).map(eventKey)).toEqual(eventsBefore.map(eventKey));
    expect(eventsBefore.filter((e) => e.kind === "node-enrolled").map((e) => e.node)).toEqual(["n1", "n2", "n3", "n4"]);
    // Every token issued before the kill still authenticates, the last one included.
    for (const [node, token] of tokens) {
      const res = await d.agent(node, token).hello({ agentVersion: "0.1.0", bootId: "b", bootedSystem: "", currentSystem: "", systemInfo: undefined, phase: 0, appliedRevision: "", appliedSha256: "", heldFencingToken: 0 });
      expect(res.cluster, node).toBe("homelab");
    }
    expect((await git("ls-remote", pushUrl, "refs/heads/main")).stdout.split("\t")[0]).toBe(second);
    const log = await readFile(join(work, "coordinator.log"), "utf8");
    expect(log.split('"msg":"coordinator started"').length - 1).toBe(2);
  });

  // Found by the long chaos run: a kill -9 while git updated main left HEAD.lock behind, and every push after the
  // restart passed validation and then failed to lock HEAD, for good.
  it("is not wedged by the ref locks of a push that a kill -9 cut off", async () => {
    const c = await connect();
    const pushUrl = `https://ops:${c.token}@127.0.0.1:${proc.httpPort}/git/inventory.git`;
    const gitDir = join(work, "state", "repo", "inventory.git");
    const leftBehind = async (rel: string) => {
      await writeFile(join(gitDir, rel), `${"0".repeat(40)}\n`);
      const past = Date.now() / 1000 - 60;
      await utimes(join(gitDir, rel), past, past);
    };
    await proc.kill();
    await leftBehind("refs/heads/main.lock");
    await proc.start();
    // And one left while it runs (a git-http-backend that outlived its coordinator).
    await leftBehind("HEAD.lock");
    const d = await connect();
    await writeFile(join(checkout, "common/monitoring.nix"), `${await readFile(join(checkout, "common/monitoring.nix"), "utf8")}# after the crash\n`);
    await git("commit", "-q", "-am", "after the crash");
    await git("push", "-q", pushUrl, "main");
    const pushed = (await git("rev-parse", "HEAD")).stdout.trim();
    expect((await git("ls-remote", pushUrl, "refs/heads/main")).stdout.split("\t")[0]).toBe(pushed);
    await eventually(async () => ((await d.status()).rollout?.revision === pushed) || undefined, 10_000, "the pushed revision adopted");
    for (const rel of ["HEAD.lock", "refs/heads/main.lock"]) await expect(stat(join(gitDir, rel))).rejects.toThrow(/ENOENT/);
    const log = await readFile(join(work, "coordinator.log"), "utf8");
    expect(log.match(/removed stale git lock files/g)).toHaveLength(2);
  });

  // Found by the long chaos runs: told a CONTENT_LENGTH, git's http-backend loops for ever on a stdin that closed
  // early, so a coordinator killed mid-push outside systemd's cgroup kill left backends burning a core each.
  it("leaves no git process behind when a kill -9 cuts off a push", async () => {
    const c = await connect();
    const repoRoot = join(work, "state", "repo");
    const socket = tlsConnect({ host: "127.0.0.1", port: proc.httpPort, ca: await proc.caPem(), servername: "localhost" });
    try {
      socket.on("error", () => undefined);
      const auth = Buffer.from(`ops:${c.token}`).toString("base64");
      // The head of a push and a pkt-line that promises more than ever arrives.
      socket.write(
        `POST /git/inventory.git/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${auth}\r\n` +
          "Content-Type: application/x-git-receive-pack-request\r\nContent-Length: 100000\r\n\r\n00a0",
      );
      await eventually(async () => (await gitBackendsOf(repoRoot)).length > 0 || undefined, 10_000, "a git-http-backend serving the push");
      await proc.kill({ leaveChildren: true });
      await eventually(async () => (await gitBackendsOf(repoRoot)).length === 0 || undefined, 5_000, "the cut-off push's git processes gone");
    } finally {
      socket.destroy();
      await killGitBackendsOf(repoRoot);
      await proc.start();
    }
  });
});

// Three coordinators on one real etcd follow one upstream repo; the leader is killed mid-rollout, then etcd, and
// main is reset to an earlier commit by a force push.
// An independent recorder (the simulated Kubernetes API's cordon/uncordon calls) checks the disruption bound.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { AdminServiceClient, type GetStatusResponse, type WatchEventsResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import { caFetch } from "../support/ca-fetch.js";
import { eventually } from "../support/eventually.js";
import { EXAMPLE_DIR } from "../support/repo-root.js";
import { CoordinatorProcess } from "../support/coordinator-process.js";
import { disruptionWindows, maxConcurrent } from "../support/disruption-windows.js";
import { HEALTHY_COMMANDS } from "../support/healthy-commands.js";
import { etcdSkipReason, startEtcd, type EtcdServer } from "./etcd-server.js";

const run = promisify(execFile);
const NODES = ["n1", "n2", "n3"];
const ADMIN_TOKEN = "multi-coordinator-admin-token-0123456789abcdef";

describe.skipIf(etcdSkipReason !== undefined)(`three coordinators on etcd ${etcdSkipReason ?? ""}`, () => {
  let etcd: EtcdServer;
  let kube: FakeKubeApiserver;
  let work: string;
  const coordinators: CoordinatorProcess[] = [];
  const agents: SimAgentProcess[] = [];
  let upstream: string;
  let checkout: string;

  const git = (...args: string[]) => run("git", ["-c", "user.name=ops", "-c", "user.email=ops@nk.invalid", ...args], { cwd: checkout });
  const admin = (c: CoordinatorProcess) => {
    const client = new AdminServiceClient(c.grpcAddress, credentials.createSsl(Buffer.from(caPem)));
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(ADMIN_TOKEN));
    return { client, md };
  };
  let caPem = "";
  // One status client per coordinator for the whole file: a fresh one per poll cost a TLS handshake on both sides.
  // It reconnects on its own after a kill; short reconnect backoff so a restarted coordinator is seen soon.
  const statusClients = new Map<CoordinatorProcess, AdminServiceClient>();
  const status = (c: CoordinatorProcess): Promise<GetStatusResponse> => {
    let client = statusClients.get(c);
    if (!client) statusClients.set(c, (client = new AdminServiceClient(c.grpcAddress, credentials.createSsl(Buffer.from(caPem)), { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1_000 })));
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(ADMIN_TOKEN));
    return new Promise((ok, fail) => client.getStatus({}, md, { deadline: Date.now() + 3_000 }, (err, res) => (err ? fail(err) : ok(res))));
  };
  /** Tells every live coordinator to fetch the upstream now (the webhook), instead of waiting for its poll. */
  const notify = async () => {
    for (const c of coordinators) {
      await caFetch(caPem)(`${c.httpUrl}/hooks/git`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).catch(() => undefined);
    }
  };
  const leader = async (): Promise<CoordinatorProcess> =>
    eventually(async () => {
      for (const c of coordinators) if ((await status(c).catch(() => null))?.leader) return c;
      return undefined;
    }, 15_000, "a leader");
  /** What a status says about the rollout, for failure messages. */
  const brief = (l: GetStatusResponse) => ({
    leader: l.leader,
    rollout: l.rollout,
    nodes: l.nodes.map((n) => [n.name, n.phase, n.appliedSha256.slice(0, 6), n.desiredSha256.slice(0, 6), n.health?.healthy, n.lastError]),
    leases: l.leases.map((x) => [x.node, x.state, x.waitingReason]),
  });
  const converged = async (timeoutMs: number) => {
    let last: GetStatusResponse | null = null;
    return eventually(async () => {
      const s = (last = await status(await leader()).catch(() => null));
      return s && s.nodes.length === NODES.length && s.nodes.every((n) => n.desiredSha256 && n.appliedSha256 === n.desiredSha256) && s.leases.length === 0 ? s : undefined;
    }, timeoutMs, "the cluster to converge").catch((err: Error) => {
      const l = last as GetStatusResponse | null;
      throw new Error(`${err.message} in ${work}: ${JSON.stringify(l && brief(l))}`);
    });
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    kube = await FakeKubeApiserver.start();
    for (const node of NODES) kube.setNode({ name: node, ready: true });
    work = await mkdtemp(join(tmpdir(), "nk-multi-"));
    await writeFile(join(work, "kubeconfig"), kube.kubeconfigYaml());
    await writeFile(join(work, "admin.token"), `${ADMIN_TOKEN}\n`, { mode: 0o600 });

    // The upstream repo every coordinator follows, and the operator's checkout that pushes to it.
    upstream = join(work, "upstream.git");
    await run("git", ["init", "-q", "--bare", "-b", "main", upstream]);
    checkout = join(work, "checkout");
    await cp(EXAMPLE_DIR, checkout, { recursive: true });
    const doc = parseDocument(await readFile(join(checkout, "inventory.yaml"), "utf8"));
    for (const gone of ["n4", "n5"]) doc.deleteIn(["nodes", gone]);
    await rm(join(checkout, "nodes", "n5.nix"), { force: true });
    doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 60);
    await writeFile(join(checkout, "inventory.yaml"), doc.toString());
    await git("init", "-q", "-b", "main");
    await git("add", "-A");
    await git("commit", "-q", "-m", "initial");
    await git("push", "-q", upstream, "main");

    for (let i = 0; i < 3; i++) {
      const stateDir = join(work, `c${i}`, "state");
      const c = new CoordinatorProcess({
        stateDir,
        logFile: join(work, `c${i}.log`),
        config: {
          id: `c${i}`,
          store: { kind: "etcd", endpoints: [etcd.endpoint], prefix: "/nk-multi/" },
          source: { kind: "upstream", url: upstream, intervalSeconds: 5 },
          adminTokenFile: join(work, "admin.token"),
          kubeconfigFile: join(work, "kubeconfig"),
          heartbeatSeconds: 1,
          healthCheckIntervalSeconds: 1,
        },
      });
      coordinators.push(c);
    }
    // c0 first: it makes the CA, which the others share, so agents pin one certificate. Then the other two at once.
    const [first, ...others] = coordinators;
    await first!.start();
    caPem = await first!.caPem();
    await Promise.all(
      others.map(async (c) => {
        await c.shareCaFrom(first!);
        await c.start();
      }),
    );
    await writeFile(join(work, "ca.crt"), caPem);
    const { client, md } = admin(coordinators[0]!);
    const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) => new Promise<T>((ok, fail) => fn((err, res) => (err ? fail(err) : ok(res))));
    await call((cb) => client.setSecret({ name: "k3s-token", value: Buffer.from("multi-secret") }, md, cb));
    for (const node of NODES) {
      const { token } = await call<{ token: string }>((cb) => client.enrollNode({ node }, md, cb));
      const dir = join(work, "nodes", node);
      await mkdir(join(dir, "system"), { recursive: true });
      await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
      await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
      agents.push(
        new SimAgentProcess(
          { node, coordinators: coordinators.map((c) => c.grpcAddress), caFile: join(work, "ca.crt"), tokenFile: join(dir, "token"), dir, timeScale: 0.05, reportIntervalSeconds: 1, logLevel: "debug" },
          // The supervisor's pause between a simulated reboot's exit and the restart: the agent's own start is
          // the reboot's length here, and a longer pause only added 1.2 s to each of the file's twelve reboots.
          { rebootDelayMs: 300 },
        ),
      );
    }
    client.close();
    await notify();
    await Promise.all(agents.map((a) => a.start()));
  }, 180_000);

  afterAll(async () => {
    for (const client of statusClients.values()) client.close();
    await Promise.all(agents.map((a) => a.stop()));
    for (const c of coordinators) await c.stop();
    await kube?.close();
    await etcd?.stop();
    if (!process.env.NK_KEEP_TEST_DIRS) await rm(work, { recursive: true, force: true });
  });

  it("rolls out through any coordinator and survives the leader's kill -9 mid-rollout", async () => {
    await converged(60_000);
    const before = disruptionWindows(kube).length;
    expect(before).toBe(NODES.length);

    // A nixpkgs bump: every node must reboot again, one at a time.
    await writeFile(join(checkout, "inventory.yaml"), (await readFile(join(checkout, "inventory.yaml"), "utf8")).replace("nixos-24.11", "nixos-25.05"));
    await git("commit", "-q", "-am", "bump nixpkgs");
    await git("push", "-q", upstream, "main");
    await notify();

    const first = await leader();
    await eventually(() => (disruptionWindows(kube).length > before ? true : undefined), 30_000, "the first grant of the bump");
    await first.kill();
    const second = await leader();
    expect(second).not.toBe(first);
    await first.start();

    const done = await converged(90_000);
    expect(done.nodes.every((n) => n.desiredRevision === done.rollout?.revision || n.appliedSha256 === n.desiredSha256)).toBe(true);
    const windows = disruptionWindows(kube);
    expect(windows.length).toBe(2 * NODES.length);
    expect(maxConcurrent(windows), JSON.stringify(windows.map((w) => [w.node, w.fromMs % 100000, w.toMs % 100000]))).toBe(1);

    // Fencing: grants in the shared event log carry strictly increasing tokens, none lost or reused.
    const { client, md } = admin(second);
    const events: WatchEventsResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.watchEvents({ afterSeq: 0, tail: 1_000, follow: false }, md);
      stream.on("data", (e: WatchEventsResponse) => events.push(e));
      stream.on("end", () => resolve());
      stream.on("error", reject);
    });
    client.close();
    const tokens = events.filter((e) => e.event?.kind === "lease-granted").map((e) => Number(e.event?.fields.fencingToken ?? e.event?.message.match(/#(\d+)/)?.[1]));
    expect(tokens.length).toBe(2 * NODES.length);
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    expect(new Set(tokens).size).toBe(tokens.length);
  }, 240_000);

  it("recovers when etcd is killed and restarted: a leader again, then a rollout with the same bound", async () => {
    await converged(60_000);
    const before = disruptionWindows(kube).length;
    await etcd.kill();
    // While etcd is down nobody leads (no grant can be fenced), yet the coordinators stay up and serve status.
    await eventually(async () => {
      const all = await Promise.all(coordinators.map((c) => status(c).catch(() => null)));
      return all.every((s) => s !== null && !s.leader) ? true : undefined;
    }, 20_000, "every coordinator to step down and keep serving status");
    await etcd.restart();
    await leader();

    const inventory = await readFile(join(checkout, "inventory.yaml"), "utf8");
    await writeFile(join(checkout, "inventory.yaml"), inventory.includes("nixos-25.05") ? inventory.replace("nixos-25.05", "nixos-24.11") : inventory.replace("nixos-24.11", "nixos-25.05"));
    await git("commit", "-q", "-am", "another nixpkgs pin");
    await git("push", "-q", upstream, "main");
    await notify();
    await eventually(() => (disruptionWindows(kube).length > before ? true : undefined), 30_000, "a grant after etcd came back").catch(async (err: Error) => {
      // Say what every coordinator saw, so a failure on a CI machine can be read without its logs.
      const seen = await Promise.all(coordinators.map(async (c, i) => [`c${i}`, await status(c).then(brief, (e: Error) => e.message)]));
      throw new Error(`${err.message} in ${work}: ${JSON.stringify(seen)}`);
    });
    await converged(90_000);
    const windows = disruptionWindows(kube).slice(before);
    expect(windows.map((w) => w.node).sort()).toEqual([...NODES].sort());
    expect(maxConcurrent(disruptionWindows(kube))).toBe(1);
  }, 180_000);

  it("rolls out the commit an operator reset main to (a force push back), though every coordinator had the newer one", async () => {
    const dropped = (await converged(60_000)).rollout!.revision;
    const before = disruptionWindows(kube).length;
    // The last push is taken back: main is reset to its parent, whose nixpkgs pin means a reboot everywhere.
    await git("reset", "-q", "--hard", "HEAD~1");
    const restored = (await git("rev-parse", "HEAD")).stdout.trim();
    await git("push", "-q", "--force", upstream, "main");
    await notify();
    // Every coordinator had `dropped`, a descendant of `restored`: only upstream's tip says the store is not ahead. Without
    // that, each served `restored` but wrote nothing, so the leader held every request as one for a replaced bundle.
    await eventually(async () => ((await status(await leader())).rollout?.revision === restored ? true : undefined), 30_000, "the leader to serve the restored commit").catch(async (err: Error) => {
      const seen = await Promise.all(coordinators.map(async (c, i) => [`c${i}`, await status(c).then(brief, (e: Error) => e.message)]));
      throw new Error(`${err.message} (dropped ${dropped}) in ${work}: ${JSON.stringify(seen)}`);
    });
    const done = await converged(90_000);
    expect(done.nodes.map((n) => n.desiredRevision)).toEqual(NODES.map(() => restored));
    const windows = disruptionWindows(kube).slice(before);
    expect(windows.map((w) => w.node).sort()).toEqual([...NODES].sort());
    expect(maxConcurrent(disruptionWindows(kube))).toBe(1);
  }, 180_000);
});

// Follow mode against real upstream repos (a local path and loopback smart HTTP): adopt good, keep last good.
import { createHmac } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import Fastify from "fastify";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { adminTokenAuthenticator } from "./git-auth.js";
import { gitHttpPlugin } from "./git-http.js";
import { gitText, runGit } from "./git-exec.js";
import { GitRepo } from "./git-repo.js";
import { homelabFiles, tempDir } from "./test-fixtures.js";
import { redactUrl, UpstreamFollower, type UpstreamFollowerOptions } from "./upstream-follower.js";
import { upstreamWebhookPlugin } from "./upstream-webhook.js";
import { validatePushedTree } from "./validate-pushed-tree.js";

const TOKEN = "upstream-admin-token-0123456789abcdefghij";

describe("UpstreamFollower", () => {
  let dir = "";
  let upstream: GitRepo;
  let local: GitRepo;
  let accepted: string[];
  let rejected: { revision: string; lines: readonly string[] }[];
  let good: Map<string, string>;

  const follower = (extra: Partial<UpstreamFollowerOptions> = {}): UpstreamFollower =>
    new UpstreamFollower({
      repo: local,
      url: upstream.gitDir,
      intervalMs: 0,
      validate: (tree) => validatePushedTree(tree, { knownSecrets: new Set(["k3s-token"]) }),
      onAccepted: (rev) => void accepted.push(rev),
      onRejected: (revision, lines) => void rejected.push({ revision, lines }),
      ...extra,
    });

  const badInventory = (): Map<string, string> => {
    const files = new Map(good);
    files.set("inventory.yaml", good.get("inventory.yaml")!.replace("n2: { address: 172.30.190.4", "n2: { address: 10.9.9.9"));
    return files;
  };

  beforeEach(async () => {
    dir = await tempDir("upstream");
    upstream = await GitRepo.open(join(dir, "upstream"));
    local = await GitRepo.open(join(dir, "local"));
    accepted = [];
    rejected = [];
    good = await homelabFiles();
  });
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps git's housekeeping after a sync (the fetch itself skips it): packs are consolidated when due", async () => {
    // Every fetch keeps its pack; more than one pack makes `gc --auto` due.
    for (const [key, value] of [["fetch.unpackLimit", "1"], ["gc.autoPackLimit", "1"], ["gc.autoDetach", "false"]] as const) await runGit(["config", key, value], local.gitOptions());
    const packs = async (): Promise<string | undefined> => (await gitText(["count-objects", "-v"], local.gitOptions())).split("\n").find((l) => l.startsWith("packs: "));
    const f = follower({ maintainAfterMs: 0 });
    stops.push(() => f.stop());
    await upstream.commitFiles(good, "seed");
    expect(await f.sync()).toMatchObject({ status: "adopted" });
    expect(await packs()).toBe("packs: 1");
    await upstream.commitFiles(new Map(good).set("nodes/n5.nix", `${good.get("nodes/n5.nix")!}# two\n`), "two");
    expect(await f.sync()).toMatchObject({ status: "adopted" });
    await vi.waitFor(async () => expect(await packs()).toBe("packs: 1"), { timeout: 60_000, interval: 50 });
  });

  it("leaves git's housekeeping out of the push's path: it runs a while after the syncs, and not after stop", async () => {
    let runs = 0;
    const maintain = local.maintain.bind(local);
    local.maintain = async () => {
      runs++;
      await maintain();
    };
    const f = follower({ maintainAfterMs: 600_000 });
    await upstream.commitFiles(good, "seed");
    expect(await f.sync()).toMatchObject({ status: "adopted" });
    await upstream.commitFiles(new Map(good).set("nodes/n5.nix", `${good.get("nodes/n5.nix")!}# two\n`), "two");
    expect(await f.sync()).toMatchObject({ status: "adopted" });
    expect(runs).toBe(0);
    await f.stop();
    expect(runs).toBe(0);
    // A sync that waits for a run under way, then a burst: one run for both syncs.
    const g = follower({ maintainAfterMs: 0 });
    stops.push(() => g.stop());
    await upstream.commitFiles(new Map(good).set("nodes/n5.nix", `${good.get("nodes/n5.nix")!}# three\n`), "three");
    expect(await g.sync()).toMatchObject({ status: "adopted" });
    await vi.waitFor(() => expect(runs).toBe(1), { timeout: 60_000, interval: 20 });
  });

  it("adopts a good upstream commit, then reports nothing new", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    const f = follower();
    expect(await f.sync()).toMatchObject({ status: "adopted", revision: sha });
    expect(accepted).toEqual([sha]);
    expect(await local.headRevision()).toBe(sha);
    expect(await local.readTree("main")).toEqual(good);
    expect(await f.sync()).toEqual({ status: "unchanged", revision: sha, lines: [] });
    expect(accepted).toEqual([sha]);
    expect(f.lastResult?.status).toBe("unchanged");
  });

  it("adopts an unchanged main again while the coordinator says it is owed (served, but not written to the shared store)", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    let owed = true;
    const asked: string[] = [];
    const f = follower({ owesAdoption: (rev) => (asked.push(rev), owed) });
    expect(await f.sync()).toMatchObject({ status: "adopted", revision: sha });
    expect(asked).toEqual([]);
    expect(await f.sync()).toEqual({ status: "adopted", revision: sha, lines: [] });
    expect(accepted).toEqual([sha, sha]);
    owed = false;
    expect(await f.sync()).toEqual({ status: "unchanged", revision: sha, lines: [] });
    expect(accepted).toEqual([sha, sha]);
    expect(asked).toEqual([sha, sha]);
    // A bad newer commit upstream does not hold back what main is owed.
    owed = true;
    const bad = await upstream.commitFiles(badInventory(), "bad");
    expect(await f.sync()).toMatchObject({ status: "rejected", revision: bad });
    expect(accepted).toEqual([sha, sha, sha]);
    expect(await local.headRevision()).toBe(sha);
    // Unless upstream dropped main: then main is not adopted again (its check would take it for a fresh commit).
    const tree = await gitText(["rev-parse", `${bad}^{tree}`], upstream.gitOptions());
    const env = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
    await runGit(["update-ref", "refs/heads/main", await gitText(["commit-tree", tree, "-m", "another history"], { ...upstream.gitOptions(), env })], upstream.gitOptions());
    expect(await f.sync()).toMatchObject({ status: "rejected" });
    expect(accepted).toEqual([sha, sha, sha]);
  });

  it("adopts main again after a failed attempt even while upstream's newer commit is rejected, and still reports the rejection", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    let failures = 2;
    const f = follower({
      onAccepted: (rev) => {
        if (failures-- > 0) throw new Error("etcd transaction failed: 14 UNAVAILABLE");
        accepted.push(rev);
      },
    });
    expect(await f.sync()).toMatchObject({ status: "failed" });
    const bad = await upstream.commitFiles(badInventory(), "bad");
    // The retry fails again: logged, and the rejection is reported all the same.
    expect(await f.sync()).toMatchObject({ status: "rejected", revision: bad });
    expect(rejected.map((r) => r.revision)).toEqual([bad]);
    expect(await f.sync()).toMatchObject({ status: "rejected", revision: bad });
    expect(accepted).toEqual([sha]);
    expect(await local.headRevision()).toBe(sha);
  });

  it("adopts main's new commit again, soon and with backoff, when its adoption failed (a store write with etcd cut off)", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    let failures = 2;
    const attempts: number[] = [];
    const adopted = new Promise<void>((resolve) => {
      const f = follower({
        intervalMs: 60_000,
        adoptRetryMs: 20,
        onAccepted: (rev) => {
          attempts.push(Date.now());
          if (failures-- > 0) throw new Error("etcd transaction failed: 14 UNAVAILABLE");
          accepted.push(rev);
          resolve();
        },
      });
      f.start();
      stops.push(() => f.stop());
    });
    await adopted;
    expect(accepted).toEqual([sha]);
    expect(attempts).toHaveLength(3);
    // Main moved at the first attempt: it was never moved back, and the retries came from the follower itself, long
    // before the next poll (60 s), the second after twice the first's wait.
    expect(await local.headRevision()).toBe(sha);
    expect(attempts[2]! - attempts[0]!).toBeLessThan(30_000);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(40);
  });

  it("does not adopt a bad commit: stays on the last good one and reports the diagnostics once", async () => {
    const first = await upstream.commitFiles(good, "seed");
    const f = follower();
    await f.sync();
    const bad = await upstream.commitFiles(badInventory(), "n2 outside the subnet");
    const result = await f.sync();
    expect(result.status).toBe("rejected");
    expect(result.revision).toBe(bad);
    expect(await local.headRevision()).toBe(first);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.revision).toBe(bad);
    expect(rejected[0]?.lines).toContain("inventory.yaml:32:18 nodes.n2.address: 10.9.9.9 is outside the cluster subnet 172.30.190.0/24");
    // Polling again does not re-validate or re-report the same commit.
    expect((await f.sync()).status).toBe("rejected");
    expect(rejected).toHaveLength(1);
    // A fix upstream (even a force-push) is adopted.
    const fixed = await upstream.commitFiles(good, "fix n2");
    expect((await f.sync()).status).toBe("adopted");
    expect(accepted).toEqual([first, fixed]);
    expect(await local.headRevision()).toBe(fixed);
  });

  it("adopts a rejected commit on a later sync once it validates (its missing secret was set)", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    const secrets = new Set<string>();
    const f = follower({ validate: (tree) => validatePushedTree(tree, { knownSecrets: secrets }) });
    expect(await f.sync()).toMatchObject({ status: "rejected", revision: sha });
    expect(await f.sync()).toMatchObject({ status: "rejected", revision: sha });
    expect(rejected).toHaveLength(1);
    secrets.add("k3s-token");
    expect(await f.sync()).toMatchObject({ status: "adopted", revision: sha });
    expect(accepted).toEqual([sha]);
  });

  it("reports a failed fetch and keeps main", async () => {
    const f = follower({ url: join(dir, "nowhere.git") });
    const result = await f.sync();
    expect(result.status).toBe("failed");
    expect(result.lines[0]).toMatch(/^fetch .*nowhere.git main failed: .*does not appear to be a git repository/);
    expect(await local.headRevision()).toBeNull();
    const empty = await follower().sync();
    expect(empty.status).toBe("failed");
  });

  it("serialises syncs and folds a burst into one follow-up", async () => {
    await upstream.commitFiles(good, "seed");
    const f = follower();
    const a = f.sync();
    const b = f.sync();
    const c = f.sync();
    expect(b).toBe(c);
    expect(a).not.toBe(b);
    expect((await a).status).toBe("adopted");
    expect((await b).status).toBe("unchanged");
    expect(accepted).toHaveLength(1);
  });

  it("polls on its timer until stopped", async () => {
    let resolveSeen: (rev: string) => void = () => undefined;
    const seen = new Promise<string>((resolve) => (resolveSeen = resolve));
    const f = follower({ intervalMs: 20, onAccepted: (rev) => resolveSeen(rev) });
    f.start();
    const sha = await upstream.commitFiles(good, "seed after start");
    expect(await seen).toBe(sha);
    await f.stop();
    expect(await local.headRevision()).toBe(sha);
  });

  it("fetches from a loopback smart-HTTP upstream with a header, never logging it", async () => {
    const sha = await upstream.commitFiles(good, "seed");
    const app = Fastify();
    await app.register(gitHttpPlugin, { prefix: "/git", repo: upstream, authenticate: adminTokenAuthenticator(TOKEN), allowPush: false });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      // Follow mode serves clones only.
      const push = await app.inject({ url: "/git/inventory.git/info/refs?service=git-receive-pack", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(push.statusCode).toBe(403);
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/git/inventory.git`;
      const denied = await follower({ url, extraHeader: "Authorization: Bearer wrong" }).sync();
      expect(denied.status).toBe("failed");
      expect(denied.lines.join("\n")).not.toContain("wrong");
      expect(await follower({ url, extraHeader: `Authorization: Bearer ${TOKEN}` }).sync()).toMatchObject({ status: "adopted", revision: sha });
    } finally {
      await app.close();
    }
  });

  it("refuses option values git would read as flags", () => {
    let err: unknown;
    try {
      follower({ url: "--upload-pack=touch /tmp/x" });
    } catch (e) {
      err = e;
    }
    expect(isNkError(err, "CONFIG_INVALID")).toBe(true);
    expect(() => follower({ branch: "-x" })).toThrow(/invalid name/);
    expect(redactUrl("https://user:pw@example.test/repo.git")).toBe("https://***@example.test/repo.git");
  });
});

describe("upstreamWebhookPlugin", () => {
  const body = JSON.stringify({ ref: "refs/heads/main", after: "abc" });
  const sign = (secret: string): string => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

  async function appWith(): Promise<{ app: ReturnType<typeof Fastify>; calls: () => number }> {
    let n = 0;
    const app = Fastify();
    await app.register(upstreamWebhookPlugin, { follower: { sync: async () => void n++ }, secret: "s3cret", authenticate: adminTokenAuthenticator(TOKEN) });
    app.post("/json", async (req) => req.body);
    return { app, calls: () => n };
  }

  it("starts a sync for a valid signature, GitLab token or admin token", async () => {
    const { app, calls } = await appWith();
    const post = (headers: Record<string, string>) => app.inject({ method: "POST", url: "/hooks/git", payload: body, headers: { "content-type": "application/json", ...headers } });
    expect((await post({ "x-hub-signature-256": sign("s3cret"), "x-github-event": "push" })).statusCode).toBe(202);
    expect((await post({ "x-gitlab-token": "s3cret" })).statusCode).toBe(202);
    expect((await post({ authorization: `Bearer ${TOKEN}` })).statusCode).toBe(202);
    expect(calls()).toBe(3);
    // The raw-body parsing stays inside the plugin.
    expect((await app.inject({ method: "POST", url: "/json", payload: body, headers: { "content-type": "application/json" } })).json()).toEqual(JSON.parse(body));
  });

  it("refuses a wrong or missing signature without syncing", async () => {
    const { app, calls } = await appWith();
    const post = (headers: Record<string, string>) => app.inject({ method: "POST", url: "/hooks/git", payload: body, headers: { "content-type": "application/json", ...headers } });
    expect((await post({ "x-hub-signature-256": sign("other") })).statusCode).toBe(401);
    // A signature header is checked even when an admin token is also present.
    expect((await post({ "x-hub-signature-256": "sha256=00", authorization: `Bearer ${TOKEN}` })).statusCode).toBe(401);
    expect((await post({ "x-gitlab-token": "nope" })).statusCode).toBe(401);
    expect((await post({})).statusCode).toBe(401);
    expect(calls()).toBe(0);
  });
});

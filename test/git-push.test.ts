// Cross-process: real git clients push to and clone from the coordinator's smart HTTP endpoint with its hooks.
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminTokenAuthenticator, GitRepo, gitHttpPlugin, HookServer, validatePushedTree, type RefUpdate } from "../coordinator/src/git/index.js";
import { gitPorcelain } from "../coordinator/src/git/git-porcelain.js";
import { gitCli, homelabFiles, tempDir } from "../coordinator/src/git/test-fixtures.js";

const TOKEN = "test-admin-token-0123456789abcdefghijklmnop";
const MAX_PUSH = 2 * 1024 * 1024;

/** stderr lines as git printed them, without the padding git adds after `remote:` lines. */
function lines(stderr: string): string[] {
  return stderr.split("\n").map((l) => l.trimEnd());
}

/** A raw HTTP request, so that paths such as /git/../x reach the server as written. */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("git over HTTP with validating hooks", () => {
  let stateDir = "";
  let work = "";
  let repo: GitRepo;
  let hooks: HookServer;
  let app: FastifyInstance;
  let port = 0;
  let base = "";
  let authed = "";
  const accepted: RefUpdate[] = [];
  const previewed: string[] = [];

  const inWork = (args: string[], env: Record<string, string> = {}) => gitCli(args, { cwd: work, env });
  /** Clones through simple-git, as a client library would; resolves to "" or to git's error output. */
  const clone = (url: string, dir: string, config: readonly string[] = []): Promise<string> =>
    gitPorcelain({ baseDir: stateDir })
      .clone(url, dir, ["-q", ...config.flatMap((c) => ["-c", c])])
      .then(
        () => "",
        (err: Error) => err.message,
      );
  const writeWork = async (path: string, content: string): Promise<void> => {
    await mkdir(dirname(join(work, path)), { recursive: true });
    await writeFile(join(work, path), content);
  };
  const commitAll = async (message: string): Promise<string> => {
    await inWork(["add", "-A"]);
    await inWork(["commit", "-q", "-m", message]);
    return (await inWork(["rev-parse", "HEAD"])).stdout.trim();
  };

  beforeAll(async () => {
    stateDir = await tempDir("git-push");
    work = join(stateDir, "work");
    repo = await GitRepo.open(join(stateDir, "state"));
    hooks = new HookServer({
      repo,
      onPreReceive: async (update, readTree) => validatePushedTree(await readTree(update.newSha), { knownSecrets: new Set(["k3s-token"]) }),
      onPostReceive: (update) => {
        accepted.push(update);
        return [`nk: adopted ${update.newSha.slice(0, 12)}`];
      },
      onPreviewReceived: async (update, name) => {
        previewed.push(`${name}@${update.newSha}`);
        return [`nk: preview ${name} planned`];
      },
    });
    await hooks.start();
    app = Fastify();
    await app.register(gitHttpPlugin, { prefix: "/git", repo, authenticate: adminTokenAuthenticator(TOKEN), maxPushBytes: MAX_PUSH });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}/git/inventory.git`;
    authed = `http://op:${TOKEN}@127.0.0.1:${port}/git/inventory.git`;

    await gitCli(["init", "-q", "-b", "main", work]);
    for (const [path, content] of await homelabFiles()) await writeWork(path, content);
    await commitAll("homelab");
  });

  afterAll(async () => {
    await app?.close();
    await hooks?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("accepts a valid push, fires post-receive with the new sha before git returns", async () => {
    const sha = (await inWork(["rev-parse", "HEAD"])).stdout.trim();
    const push = await inWork(["push", authed, "main"]);
    expect(push.code, push.stderr).toBe(0);
    expect(lines(push.stderr)).toContain(`remote: nk: inventory valid at ${sha.slice(0, 12)}: 5 nodes`);
    expect(lines(push.stderr)).toContain(`remote: nk: adopted ${sha.slice(0, 12)}`);
    // The HTTP user name the push came in as reaches post-receive, for the rollout history.
    expect(accepted).toEqual([{ ref: "refs/heads/main", oldSha: "0".repeat(40), newSha: sha, pusher: "op" }]);
    expect(await repo.headRevision()).toBe(sha);
  });

  it("rejects a bad inventory with every diagnostic as a remote: line, leaving main alone", async () => {
    const before = await repo.headRevision();
    const inventory = (await homelabFiles()).get("inventory.yaml")!;
    await writeWork("inventory.yaml", inventory.replace("n2: { address: 172.30.190.4", "n2: { address: 10.9.9.9"));
    const sha = await commitAll("move n2 out of the subnet");
    const push = await inWork(["push", authed, "main"]);
    expect(push.code).not.toBe(0);
    const out = lines(push.stderr);
    expect(out).toContain("remote: inventory.yaml:32:18 nodes.n2.address: 10.9.9.9 is outside the cluster subnet 172.30.190.0/24");
    expect(out).toContain(`remote: nk: rejected at ${sha.slice(0, 12)}: 1 error (nothing was changed)`);
    expect(push.stderr).toMatch(/\[remote rejected\] main -> main \(pre-receive hook declined\)/);
    expect(await repo.headRevision()).toBe(before);
    expect(accepted).toHaveLength(1);
    // The rejected objects never left quarantine.
    expect(await repo.resolve(sha)).toBeNull();
    await inWork(["reset", "-q", "--hard", "HEAD~1"]);
  });

  it("rejects invalid Nix in a node file with the parser's position", async () => {
    await writeWork("nodes/n1.nix", "{ config, ... }:\n{\n  boot.kernelParams = [ \"quiet\" ;\n}\n");
    await commitAll("broken nix");
    const push = await inWork(["push", authed, "main"]);
    expect(push.code).not.toBe(0);
    expect(lines(push.stderr)).toContain("remote: nodes/n1.nix:3:33 invalid Nix: syntax error, unexpected ';'");
    await inWork(["reset", "-q", "--hard", "HEAD~1"]);
  });

  it("validates a preview ref exactly like main, never moves main, and refuses bad names and deletion", async () => {
    const before = await repo.headRevision();
    const inventory = (await homelabFiles()).get("inventory.yaml")!;
    await writeWork("inventory.yaml", inventory.replace("n2: { address: 172.30.190.4", "n2: { address: 10.9.9.9"));
    const bad = await commitAll("bad preview");
    const refused = await inWork(["push", authed, "HEAD:refs/heads/preview/try"]);
    expect(refused.code).not.toBe(0);
    expect(lines(refused.stderr)).toContain("remote: inventory.yaml:32:18 nodes.n2.address: 10.9.9.9 is outside the cluster subnet 172.30.190.0/24");
    expect(lines(refused.stderr)).toContain(`remote: nk: rejected at ${bad.slice(0, 12)}: 1 error (nothing was changed)`);
    await inWork(["reset", "-q", "--hard", "HEAD~1"]);

    await writeWork("nodes/n5.nix", "{ ... }: { }\n");
    const good = await commitAll("good preview");
    const pushed = await inWork(["push", authed, "HEAD:refs/heads/preview/try"]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(lines(pushed.stderr)).toContain(`remote: nk: inventory valid at ${good.slice(0, 12)}: 5 nodes`);
    expect(lines(pushed.stderr)).toContain("remote: nk: preview try planned");
    expect(previewed).toEqual([`try@${good}`]);
    expect(await repo.headRevision()).toBe(before);
    expect(await repo.resolve("refs/heads/preview/try")).toBe(good);

    const badName = await inWork(["push", authed, "HEAD:refs/heads/preview/Bad_Name"]);
    expect(badName.code).not.toBe(0);
    expect(lines(badName.stderr).some((l) => l.startsWith('remote: nk: refs/heads/preview/Bad_Name: invalid preview name "Bad_Name"'))).toBe(true);
    const del = await inWork(["push", authed, ":refs/heads/preview/try"]);
    expect(del.code).not.toBe(0);
    expect(await repo.resolve("refs/heads/preview/try")).toBe(good);
    await repo.deleteRef("refs/heads/preview/try");
    expect(await repo.resolve("refs/heads/preview/try")).toBeNull();
    await inWork(["reset", "-q", "--hard", "HEAD~1"]);
  });

  it("accepts only main: other branches and deleting main are refused", async () => {
    const branch = await inWork(["push", authed, "main:feature"]);
    expect(branch.code).not.toBe(0);
    expect(lines(branch.stderr)).toContain("remote: nk: refs/heads/feature: only refs/heads/main and refs/heads/preview/<name> can be pushed (push to main instead)");
    const tag = await inWork(["push", authed, "HEAD:refs/tags/v1"]);
    expect(tag.code).not.toBe(0);
    const del = await inWork(["push", authed, ":main"]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/deletion prohibited|deleting main is not allowed/);
    expect((await gitCli(["--git-dir", repo.gitDir, "for-each-ref", "--format=%(refname)"])).stdout.trim()).toBe("refs/heads/main");
  });

  it("clones with the token (Basic in the URL or a Bearer header)", async () => {
    const viaUrl = join(stateDir, "clone-basic");
    expect(await clone(authed, viaUrl)).toBe("");
    const viaHeader = join(stateDir, "clone-bearer");
    expect(await clone(base, viaHeader, ["credential.helper=", `http.extraHeader=Authorization: Bearer ${TOKEN}`])).toBe("");
    const head = (await gitCli(["rev-parse", "HEAD"], { cwd: viaHeader })).stdout.trim();
    expect(head).toBe(await repo.headRevision());
    expect((await gitCli(["show", "HEAD:nodes/n5.nix"], { cwd: viaHeader })).stdout).toContain("updateMicrocode");
  });

  it("refuses clone and push without the token, or with a wrong one", async () => {
    expect(await clone(base, join(stateDir, "clone-anon"))).toMatch(/could not read Username|Authentication failed/);
    expect(await clone(`http://op:wrong@127.0.0.1:${port}/git/inventory.git`, join(stateDir, "clone-wrong"))).toMatch(/Authentication failed/);
    const push = await inWork(["push", `http://op:wrong@127.0.0.1:${port}/git/inventory.git`, "main"]);
    expect(push.code).not.toBe(0);
    const res = await rawRequest(port, "GET", "/git/inventory.git/info/refs?service=git-receive-pack");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Basic realm="nk"/);
  });

  it("refuses an oversized push with 413 and keeps serving", async () => {
    await writeWork("blob.txt", randomBytes(3 * 1024 * 1024).toString("base64"));
    await commitAll("too big");
    const push = await inWork(["push", authed, "main"]);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/HTTP 413/);
    const declared = await rawRequest(port, "POST", "/git/inventory.git/git-receive-pack", {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/x-git-receive-pack-request",
      "content-length": String(MAX_PUSH + 1),
    });
    expect(declared.status).toBe(413);
    const after = await gitCli(["ls-remote", authed, "main"]);
    expect(after.stdout.split("\t")[0]).toBe(await repo.headRevision());
    await inWork(["reset", "-q", "--hard", "HEAD~1"]);
  });

  it("answers malformed requests with 4xx and never reaches git with a client path", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const cases: [string, string, number, Record<string, string>?][] = [
      ["GET", "/git/../x", 404],
      ["GET", "/git/inventory.git/../../hooks/pre-receive", 404],
      ["GET", "/git/inventory.git/..%2f..%2fhooks/info/refs?service=git-upload-pack", 404],
      ["GET", "/git/other.git/info/refs?service=git-upload-pack", 404],
      ["GET", "/git/inventory.git/HEAD", 404],
      ["GET", "/git/inventory.git/info/refs", 400],
      ["GET", "/git/inventory.git/info/refs?service=git-upload-archive", 403],
      ["GET", "/git/inventory.git/info/refs?service=../../x", 403],
      ["POST", "/git/inventory.git/git-upload-pack", 415, { "content-type": "text/plain" }],
    ];
    for (const [method, path, status, headers] of cases) {
      const res = await rawRequest(port, method, path, { ...auth, ...headers }, method === "POST" ? Buffer.from("x") : undefined);
      expect(res.status, `${method} ${path}`).toBe(status);
    }
  });

  it("passes gzip request bodies through to git-http-backend", async () => {
    const head = (await repo.headRevision())!;
    const pkt = (s: string): string => `${(s.length + 4).toString(16).padStart(4, "0")}${s}`;
    const body = gzipSync(Buffer.from(`${pkt(`want ${head}\n`)}0000${pkt("done\n")}`));
    const res = await rawRequest(port, "POST", "/git/inventory.git/git-upload-pack", {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/x-git-upload-pack-request",
      "content-encoding": "gzip",
      "content-length": String(body.length),
    }, body);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-git-upload-pack-result");
    expect(res.body.subarray(0, 8).toString()).toBe("0008NAK\n");
    expect(res.body.subarray(8, 12).toString()).toBe("PACK");
  });

  it("refuses a push when the coordinator's hook socket is gone", async () => {
    await hooks.close();
    try {
      await writeWork("common/extra.nix", "{ ... }: { }\n");
      await commitAll("while down");
      const push = await inWork(["push", repo.gitDir, "main"]);
      expect(push.code).not.toBe(0);
      expect(lines(push.stderr)).toContain("remote: nk: cannot reach the coordinator (ENOENT): push refused");
    } finally {
      await hooks.start();
    }
    const retry = await inWork(["push", authed, "main"]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(accepted.at(-1)?.newSha).toBe(await repo.headRevision());
  });
});

describe("git over HTTP without the hook server", () => {
  it("fails closed: no push is taken while validation is not running, clones still work", async () => {
    const dir = await tempDir("git-nohooks");
    try {
      const repo = await GitRepo.open(dir);
      await repo.commitFiles(await homelabFiles(), "seed");
      const app = Fastify();
      await app.register(gitHttpPlugin, { prefix: "/git", repo, authenticate: adminTokenAuthenticator(TOKEN) });
      const headers = { authorization: `Bearer ${TOKEN}` };
      const push = await app.inject({ url: "/git/inventory.git/info/refs?service=git-receive-pack", headers });
      expect(push.statusCode).toBe(503);
      expect(push.body).toMatch(/push validation is not running/);
      const clone = await app.inject({ url: "/git/inventory.git/info/refs?service=git-upload-pack", headers });
      expect(clone.statusCode).toBe(200);
      expect(clone.headers["content-type"]).toBe("application/x-git-upload-pack-advertisement");
      await app.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

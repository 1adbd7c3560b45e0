// Private upstreams with credentials from files: a real smart-HTTP server with basic auth, and ssh with its exact command line.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import Fastify from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkConfig } from "../../../shared/src/config/index.js";
import { createLogger } from "../../../shared/src/log/index.js";
import { coordinatorConfigSchema } from "../config/index.js";
import { adminTokenAuthenticator, presentedCredentials } from "./git-auth.js";
import { gitHttpPlugin } from "./git-http.js";
import { GitRepo } from "./git-repo.js";
import { homelabFiles, tempDir } from "./test-fixtures.js";
import { ASKPASS_SCRIPT, sshCommand, upstreamAuthEnv } from "./upstream-credentials.js";
import { UpstreamFollower } from "./upstream-follower.js";
import { validatePushedTree } from "./validate-pushed-tree.js";

const PASSWORD = "upstream-pw-Zq8v3kT1xN6mR0bC";

/** Every process this user can read: its command line and environment, NUL-separated. */
async function processTexts(): Promise<Array<{ pid: string; cmdline: string; environ: string }>> {
  const out: Array<{ pid: string; cmdline: string; environ: string }> = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const read = (f: string) => readFile(`/proc/${pid}/${f}`, "latin1").catch(() => "");
    out.push({ pid, cmdline: await read("cmdline"), environ: await read("environ") });
  }
  return out;
}

describe("upstream credentials from files", () => {
  let dir = "";
  let upstream: GitRepo;
  let local: GitRepo;
  let logText: () => string;
  let follower: (url: string, authEnv: Record<string, string>) => UpstreamFollower;

  beforeEach(async () => {
    dir = await tempDir("upstream-auth");
    upstream = await GitRepo.open(join(dir, "upstream"));
    local = await GitRepo.open(join(dir, "local"));
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => void (chunks.push(Buffer.from(c)), cb()) });
    const log = createLogger({ name: "test", level: "trace", destination: sink });
    logText = () => Buffer.concat(chunks).toString("utf8");
    follower = (url, authEnv) =>
      new UpstreamFollower({ repo: local, url, intervalMs: 0, authEnv, log, validate: (tree) => validatePushedTree(tree, { knownSecrets: new Set(["k3s-token"]), checkNix: false }), onAccepted: () => undefined });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("HTTPS: git gets the password from the file through GIT_ASKPASS, never in an argv, environment or log", async () => {
    const sha = await upstream.commitFiles(await homelabFiles(), "seed");
    const seen: string[] = [];
    let scan: Promise<Awaited<ReturnType<typeof processTexts>>> | null = null;
    const app = Fastify();
    // While git-remote-http waits for the authenticated answer, look at every process there is.
    app.addHook("onRequest", async (req) => {
      const presented = presentedCredentials(req.headers);
      if (presented) seen.push(presented.user);
      if (presented?.token === PASSWORD) scan ??= processTexts();
      if (scan) await scan;
    });
    await app.register(gitHttpPlugin, { prefix: "/git", repo: upstream, authenticate: adminTokenAuthenticator(PASSWORD), allowPush: false });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/git/inventory.git`;
      const passwordFile = join(dir, "upstream.password");
      await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      const env = await upstreamAuthEnv({ username: "ops", passwordFile }, join(dir, "run"));
      expect(env).toEqual({ GIT_ASKPASS: join(dir, "run", "git-askpass"), NK_UPSTREAM_USERNAME: "ops", NK_UPSTREAM_PASSWORD_FILE: passwordFile });
      expect(await readFile(env.GIT_ASKPASS!, "utf8")).toBe(ASKPASS_SCRIPT);

      expect(await follower(url, env).sync()).toMatchObject({ status: "adopted", revision: sha });
      expect(seen).toContain("ops");
      const processes = await scan!;
      // The scan ran while git was fetching: its remote helper was alive, talking to this server.
      expect(processes.some((p) => p.cmdline.includes("remote-http") && p.cmdline.includes(url))).toBe(true);
      for (const p of processes) {
        expect(p.cmdline, `argv of ${p.pid}`).not.toContain(PASSWORD);
        expect(p.environ, `environment of ${p.pid}`).not.toContain(PASSWORD);
      }
      expect(logText()).not.toBe("");
      expect(logText()).not.toContain(PASSWORD);

      // A wrong password fails the fetch with git's reason, which does not show the password either.
      await writeFile(passwordFile, "wrong-pw-0000\n");
      const denied = await follower(url, env).sync();
      expect(denied.status).toBe("failed");
      expect(denied.lines.join("\n")).toMatch(/Authentication failed/);
      expect(denied.lines.join("\n") + logText()).not.toContain("wrong-pw-0000");
    } finally {
      await app.close();
    }
  });

  it("SSH: git runs ssh with the key, IdentitiesOnly and strict host key checking against the known_hosts file", async () => {
    const sha = await upstream.commitFiles(await homelabFiles(), "seed");
    const key = join(dir, "id_ed25519");
    const knownHosts = join(dir, "known hosts");
    await writeFile(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
    await writeFile(knownHosts, "upstream.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake\n");
    const env = await upstreamAuthEnv({ sshKeyFile: key, sshKnownHostsFile: knownHosts }, join(dir, "run"));
    expect(env).toEqual({ GIT_SSH_COMMAND: `ssh -i '${key}' -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=${knownHosts}' -o BatchMode=yes` });
    expect(sshCommand("/k'ey", "/kh")).toBe(`ssh -i '/k'\\''ey' -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/kh' -o BatchMode=yes`);

    // Stands in for the ssh client (there is no sshd here): records its argv, then runs the remote command locally.
    const bin = join(dir, "bin");
    const argsFile = join(dir, "ssh-args");
    await mkdir(bin);
    await writeFile(join(bin, "ssh"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\nfor last; do :; done\nexec sh -c "$last"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      expect(await follower(`ssh://git@upstream.invalid${upstream.gitDir}`, env).sync()).toMatchObject({ status: "adopted", revision: sha });
    } finally {
      process.env.PATH = path;
    }
    const argv = (await readFile(argsFile, "utf8")).split("\n").slice(0, -1);
    expect(argv.slice(0, 10)).toEqual(["-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "BatchMode=yes"]);
    expect(argv).toContain("git@upstream.invalid");
    expect(argv.at(-1)).toBe(`git-upload-pack '${upstream.gitDir}'`);
  });

  it("refuses missing files at start and credentials in the URL in the config", async () => {
    await expect(upstreamAuthEnv({ passwordFile: join(dir, "nope") }, join(dir, "run"))).rejects.toThrow(/cannot read upstream password file/);
    const load = (source: Record<string, unknown>) => () => checkConfig(coordinatorConfigSchema, { kube: "none", source: { kind: "upstream", ...source } }, "c.yaml");
    expect(load({ url: "https://ops:secret@git.example/inv.git" })).toThrow("source.url: must not carry a password (it would show on git's command line and in the config): put it in passwordFile");
    // A rule across settings names the one given.
    expect(load({ url: "ssh://git@git.example/inv.git", sshKeyFile: "/k" })).toThrow("source.sshKeyFile: sshKeyFile and sshKnownHostsFile go together (ssh checks the upstream's host key strictly): set both, or neither");
    expect(load({ url: "https://git.example/inv.git", username: "ops" })).toThrow("source.username: username needs passwordFile (the file holding its password or token): set source.passwordFile, or drop username");
    expect(load({ url: "https://git.example/inv.git", username: "ops", passwordFile: "/p" })()).toMatchObject({ source: { username: "ops", passwordFile: "/p" } });
  });
});

// Starts a real coordinator on loopback in a temp state dir, with helpers for git pushes and gRPC clients.
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { silentLogger } from "../../shared/src/log/index.js";
import { AdminServiceClient } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { caFetch, type CaFetchInit } from "./ca-fetch.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { CoordinatorClient } from "../../agent/src/client/index.js";
import { coordinatorConfigSchema, type CoordinatorConfigInput } from "../../coordinator/src/config/index.js";
import { startCoordinator, type RunningCoordinator } from "../../coordinator/src/main.js";

import { noKubeUnlessConfigured } from "./no-kube-unless-configured.js";
import { EXAMPLE_DIR } from "./repo-root.js";

// The small helpers live in files of their own, so that a test that needs only them does not load the whole
// coordinator (this file's import of main.ts) into its worker; re-exported here for the tests that start one.
export { adminCall } from "./admin-call.js";
export { eventually } from "./eventually.js";
export { noKubeUnlessConfigured } from "./no-kube-unless-configured.js";
export { EXAMPLE_DIR, REPO_ROOT } from "./repo-root.js";

const run = promisify(execFile);

export interface Harness {
  readonly coordinator: RunningCoordinator;
  readonly stateDir: string;
  readonly workDir: string;
  readonly gitUrl: string;
  /** The coordinator's CA certificate (PEM file): what git's http.sslCAInfo and curl --cacert take. */
  readonly caFile: string;
  /** fetch() against the coordinator's HTTPS listener, trusting its CA: `h.fetch("/api/v1/nodes")`. */
  fetch(path: string, init?: CaFetchInit): Promise<Response>;
  /** A work tree with examples/homelab committed on main, remote "nk" pointing at the coordinator. */
  readonly checkout: string;
  git(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Commits the work tree and pushes; resolves with git's stderr (the `remote:` lines) or rejects with it. */
  push(message: string): Promise<string>;
  admin(): { client: AdminServiceClient; metadata: Metadata };
  agent(node: string, token: string): CoordinatorClient;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(overrides: CoordinatorConfigInput = {}): Promise<Harness> {
  const workDir = await mkdtemp(join(tmpdir(), "nk-harness-"));
  const stateDir = join(workDir, "state");
  const config = coordinatorConfigSchema.parse({ stateDir, grpc: { listen: "127.0.0.1:0" }, http: { listen: "127.0.0.1:0" }, logLevel: "silent", ...noKubeUnlessConfigured(overrides), ...overrides });
  let coordinator = await startCoordinator(config, { log: silentLogger() });
  const checkout = join(workDir, "checkout");
  await cp(EXAMPLE_DIR, checkout, { recursive: true });
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" };
  const caFile = join(stateDir, "tls", "ca.crt");
  const git = (...args: string[]) => run("git", ["-c", "credential.helper=", "-c", `http.sslCAInfo=${caFile}`, ...args], { cwd: checkout, env, maxBuffer: 16 * 1024 * 1024 });
  const gitUrl = () => `https://ops:${coordinator.adminToken}@127.0.0.1:${coordinator.httpPort}/git/inventory.git`;
  await git("init", "-q", "-b", "main");
  await git("remote", "add", "nk", gitUrl());
  const clients: Array<{ close(): void }> = [];
  const harness: Harness = {
    get coordinator() {
      return coordinator;
    },
    stateDir,
    workDir,
    caFile,
    fetch: (path, init) => caFetch(coordinator.caPem)(coordinator.httpUrl + path, init),
    get gitUrl() {
      return gitUrl();
    },
    checkout,
    git,
    async push(message) {
      await git("add", "-A");
      await git("commit", "-q", "--allow-empty", "-m", message);
      await git("remote", "set-url", "nk", gitUrl());
      try {
        const { stderr } = await git("push", "-q", "nk", "main");
        return stderr;
      } catch (err) {
        throw new Error((err as { stderr: string }).stderr);
      }
    },
    admin() {
      const client = new AdminServiceClient(`127.0.0.1:${coordinator.grpcPort}`, credentials.createSsl(Buffer.from(coordinator.caPem)));
      clients.push(client);
      const metadata = new Metadata();
      metadata.set(AUTH_HEADER, bearer(coordinator.adminToken));
      return { client, metadata };
    },
    agent(node, token) {
      const client = new CoordinatorClient({ addresses: [`127.0.0.1:${coordinator.grpcPort}`], node, token, ca: coordinator.caPem });
      clients.push(client);
      return client;
    },
    async restart() {
      await coordinator.stop();
      coordinator = await startCoordinator({ ...config, grpc: { listen: `127.0.0.1:${coordinator.grpcPort}` } }, { log: silentLogger() });
    },
    async close() {
      for (const c of clients) c.close();
      await coordinator.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return harness;
}

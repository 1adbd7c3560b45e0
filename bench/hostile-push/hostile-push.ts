// Pushes hostile trees (a huge blob of zeros, thousands of small files) to a real coordinator process and reads its peak RSS.
import { execFile, spawn } from "node:child_process";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { AdminServiceClient } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { adminCall, EXAMPLE_DIR } from "../../test/support/coordinator-harness.js";
import { CoordinatorProcess } from "../../test/support/coordinator-process.js";
import { findPid, memoryOf } from "../fanout/proc-stats.js";

const run = promisify(execFile);
// GIT_SSL_CAINFO would override the coordinator's CA given per checkout.
const GIT_ENV = { ...process.env, GIT_SSL_CAINFO: undefined, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" };

export interface HostilePushOptions {
  readonly workDir: string;
  /** Size of the one blob of zeros (manifests/zeros.yaml). */
  readonly zeroBytes: number;
  /** How many distinct small files (bulk/f<i>.txt), each `smallFileBytes` long. */
  readonly smallFiles: number;
  readonly smallFileBytes: number;
}

export interface PushOutcome {
  /** git push exited 0. */
  readonly accepted: boolean;
  /** The `remote:` lines, without the prefix. */
  readonly remote: readonly string[];
  /** The coordinator's VmHWM (peak RSS since it started) right after this push, MiB. */
  readonly hwmMiB: number;
}

export interface HostilePushResult {
  readonly base: PushOutcome;
  readonly zeros: PushOutcome;
  readonly files: PushOutcome;
}

/** Writes a fast-import stream: one commit on `parent` adding `files` (path → producer of its content in chunks). */
async function importCommit(checkout: string, parent: string, message: string, files: ReadonlyArray<{ path: string; size: number; chunks: () => Iterable<Buffer> }>): Promise<string> {
  const child = spawn("git", ["fast-import", "--quiet", "--done", "--force"], { cwd: checkout, env: GIT_ENV, stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const write = async (data: string | Buffer): Promise<void> => {
    if (!child.stdin.write(data)) await once(child.stdin, "drain");
  };
  await write(`commit refs/heads/main\ncommitter ops <ops@example.invalid> 1700000000 +0000\ndata ${Buffer.byteLength(message)}\n${message}\nfrom ${parent}\n`);
  for (const f of files) {
    await write(`M 100644 inline ${f.path}\ndata ${f.size}\n`);
    for (const chunk of f.chunks()) await write(chunk);
    await write("\n");
  }
  await write("done\n");
  child.stdin.end();
  const [code] = (await once(child, "close")) as [number];
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
  return (await run("git", ["rev-parse", "main"], { cwd: checkout, env: GIT_ENV })).stdout.trim();
}

function* zeros(total: number): Iterable<Buffer> {
  const block = Buffer.alloc(1024 * 1024);
  for (let left = total; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
}

/** Distinct, highly compressible text: a numbered first line, then dots. */
function smallFile(i: number, size: number): Buffer {
  const head = `# file ${i}\n`;
  return Buffer.from(head + ".".repeat(Math.max(0, size - head.length - 1)) + "\n");
}

export async function runHostilePushes(options: HostilePushOptions): Promise<HostilePushResult> {
  const proc = new CoordinatorProcess({ stateDir: join(options.workDir, "state"), logFile: join(options.workDir, "coordinator.log"), config: { logLevel: "info" } });
  let admin: AdminServiceClient | undefined;
  try {
    await proc.start(60_000);
    const pid = await findPid(proc.configPath);
    const token = await proc.adminToken();
    admin = new AdminServiceClient(proc.grpcAddress, credentials.createSsl(Buffer.from(await proc.caPem())));
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(token));
    const client = admin;
    // The example inventory references this secret: with it set, size is the only reason to refuse.
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("hostile-push-k3s-token") }, md);

    const checkout = join(options.workDir, "checkout");
    await cp(EXAMPLE_DIR, checkout, { recursive: true });
    const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env: GIT_ENV, maxBuffer: 16 * 1024 * 1024 });
    await git("init", "-q", "-b", "main");
    await git("config", "http.sslCAInfo", proc.caFile);
    await git("add", "-A");
    await git("commit", "-q", "-m", "homelab");
    const base = (await git("rev-parse", "main")).stdout.trim();
    const url = `https://ops:${token}@127.0.0.1:${proc.httpPort}/git/inventory.git`;
    const push = async (): Promise<PushOutcome> => {
      let accepted = true;
      let stderr: string;
      try {
        stderr = (await git("push", "-q", url, "+main:main")).stderr;
      } catch (err) {
        accepted = false;
        stderr = (err as { stderr: string }).stderr;
      }
      const remote = stderr.split("\n").filter((l) => l.startsWith("remote: ")).map((l) => l.slice("remote: ".length).trimEnd());
      return { accepted, remote, hwmMiB: (await memoryOf(pid)).hwmMiB };
    };

    const baseOutcome = await push();
    await importCommit(checkout, base, "zeros", [{ path: "manifests/zeros.yaml", size: options.zeroBytes, chunks: () => zeros(options.zeroBytes) }]);
    const zerosOutcome = await push();
    const files = Array.from({ length: options.smallFiles }, (_, i) => ({ path: `bulk/d${i % 100}/f${i}.txt`, size: options.smallFileBytes, chunks: () => [smallFile(i, options.smallFileBytes)] }));
    await importCommit(checkout, base, "many files", files);
    const filesOutcome = await push();
    return { base: baseOutcome, zeros: zerosOutcome, files: filesOutcome };
  } finally {
    admin?.close();
    await proc.stop();
  }
}

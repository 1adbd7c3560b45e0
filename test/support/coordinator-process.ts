// Runs nk-coordinator as its own process on fixed loopback ports, so tests can kill -9 it and start it again.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { noKubeUnlessConfigured } from "./no-kube-unless-configured.js";
import { REPO_ROOT } from "./repo-root.js";

export interface CoordinatorProcessOptions {
  readonly stateDir: string;
  readonly config?: Record<string, unknown>;
  readonly logFile?: string;
  /** Extra node flags before the script (e.g. --cpu-prof for a benchmark's profile). */
  readonly nodeArgs?: readonly string[];
}

export class CoordinatorProcess {
  private child: ChildProcess | null = null;
  grpcPort = 0;
  httpPort = 0;

  constructor(private readonly options: CoordinatorProcessOptions) {}

  get configPath(): string {
    return join(this.options.stateDir, "..", "coordinator.yaml");
  }

  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  async adminToken(): Promise<string> {
    return (await readFile(join(this.options.stateDir, "admin.token"), "utf8")).trim();
  }

  /** The coordinator's CA certificate file, for git's http.sslCAInfo. */
  get caFile(): string {
    return join(this.options.stateDir, "tls", "ca.crt");
  }

  /** Base of the HTTPS listener. */
  get httpUrl(): string {
    return `https://127.0.0.1:${this.httpPort}`;
  }

  async caPem(): Promise<string> {
    return readFile(join(this.options.stateDir, "tls", "ca.crt"), "utf8");
  }

  /** Copies `other`'s CA (certificate and key) in before the first start, as an operator gives every coordinator of a group one CA. */
  async shareCaFrom(other: CoordinatorProcess): Promise<void> {
    const tls = join(this.options.stateDir, "tls");
    await mkdir(tls, { recursive: true, mode: 0o700 });
    for (const f of ["ca.crt", "ca.key"]) await cp(join(other.options.stateDir, "tls", f), join(tls, f));
  }

  /**
   * Starts (or restarts on the same ports) and resolves once the coordinator logged that it started. The bound is
   * for a coordinator that hangs: a start costs seconds of CPU (module loading, TLS, reflection), several times that
   * in wall time on a loaded machine.
   */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.child) throw new Error("coordinator process already running");
    const fresh = !this.grpcPort;
    for (let attempt = 1; ; attempt++) {
      if (!this.grpcPort) {
        this.grpcPort = await freePort();
        do this.httpPort = await freePort();
        while (this.httpPort === this.grpcPort);
      }
      try {
        return await this.startOnce(timeoutMs);
      } catch (err) {
        // Ports picked just now and taken before the coordinator bound them: pick others. A restart keeps its ports
        // (agents and peers know them).
        if (!fresh || attempt >= 3 || !String(err).includes("EADDRINUSE")) throw err;
        [this.grpcPort, this.httpPort] = [0, 0];
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true });
    await writeFile(
      this.configPath,
      JSON.stringify({ stateDir: this.options.stateDir, grpc: { listen: this.grpcAddress }, http: { listen: `127.0.0.1:${this.httpPort}` }, logLevel: "debug", ...noKubeUnlessConfigured(this.options.config), ...this.options.config }),
    );
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), join(REPO_ROOT, "bin/nk-coordinator.js"), "--config", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const log = this.options.logFile ? createWriteStream(this.options.logFile, { flags: "a" }) : null;
    await new Promise<void>((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => {
        // A start that hangs must not outlive the test (callers keep only started coordinators to stop): one left
        // running after a timeout on a loaded machine kept a core busy for the rest of the run.
        child.kill("SIGKILL");
        reject(new Error(`coordinator did not start within ${timeoutMs} ms:\n${buffered.slice(-2000)}`));
      }, timeoutMs);
      const write = (chunk: Buffer): void => void log?.write(chunk);
      const onData = (chunk: Buffer): void => {
        write(chunk);
        buffered += chunk.toString();
        if (buffered.includes('"msg":"coordinator started"')) {
          clearTimeout(timer);
          // Started: the output is only copied to the log from now on. Scanning it (and keeping it all in memory) for
          // the rest of the coordinator's life served nothing: only the start's timeout and exit messages read it.
          for (const stream of [child.stdout!, child.stderr!]) {
            stream.off("data", onData);
            stream.on("data", write);
          }
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        // Gone: a later stop() or kill() must not wait for an exit that already happened.
        if (this.child === child) this.child = null;
        reject(new Error(`coordinator exited with ${code} while starting:\n${buffered.slice(-2000)}`));
      });
    });
    child.on("exit", () => {
      if (this.child === child) this.child = null;
    });
  }

  /**
   * kill -9: no clean shutdown, nothing flushed that was not already durable. Like systemd, which kills a crashed
   * unit's whole cgroup, it also kills the processes the coordinator started (a git-http-backend orphaned in the
   * middle of a push by an older coordinator spins on its closed stdin for ever). `leaveChildren` skips that, as a
   * crash outside systemd would.
   */
  async kill(options: { leaveChildren?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
    if (!options.leaveChildren) await killGitBackendsOf(join(this.options.stateDir, "repo"));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}

/**
 * Kills the git-http-backend processes serving the repos under `projectRoot`. Found by their environment, not as
 * children: one spawned just before a kill is already an orphan of init.
 */
export async function killGitBackendsOf(projectRoot: string): Promise<void> {
  for (const pid of await gitBackendsOf(projectRoot)) {
    // git-http-backend runs in its own process group (with the receive-pack it starts): kill the group.
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

/** git-http-backend processes (and the services they started) serving the repos under `projectRoot`, from /proc (Linux). */
export async function gitBackendsOf(projectRoot: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    if (environ.split("\0").includes(`GIT_PROJECT_ROOT=${projectRoot}`)) out.push(Number(entry));
  }
  return out;
}

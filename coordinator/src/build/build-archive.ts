// Finished build jobs and their logs, kept in <stateDir>/builds/ so `nkctl build log` still answers after a restart.
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { jobKey, type BuildJobRecord } from "./build-queue.js";

/** A log file's name: the job's revision (a commit id) under a folder per node; nothing else reaches the path. */
const SAFE = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;

/**
 * jobs.json holds the finished (pushed or failed) jobs; logs/<node>/<revision>.log each job's log tail. With `dir` null
 * both stay in memory, as for a coordinator without a state directory of its own (tests).
 */
export class BuildArchive {
  private readonly memory = new Map<string, string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string | null) {}

  /** The finished jobs kept by the last run; none on a first start. */
  async load(): Promise<BuildJobRecord[]> {
    if (this.dir === null) return [];
    const path = join(this.dir, "jobs.json");
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new NkError("IO", `cannot read ${path}`, { cause: err });
    }
    try {
      const parsed = JSON.parse(text) as { jobs?: BuildJobRecord[] };
      return (parsed.jobs ?? []).filter((j) => (j.state === "pushed" || j.state === "failed") && SAFE.test(j.node) && SAFE.test(j.revision));
    } catch (err) {
      throw new NkError("STATE_CORRUPT", `${path} is not JSON: remove it (and ${join(this.dir, "logs")}) to forget the kept builds`, { cause: err });
    }
  }

  /** Records the finished jobs among `jobs` and removes the logs of jobs no longer kept. Writes run one after another. */
  saveJobs(jobs: readonly BuildJobRecord[]): Promise<void> {
    const finished = jobs.filter((j) => j.state === "pushed" || j.state === "failed");
    const kept = new Set(jobs.map(jobKey));
    for (const key of this.memory.keys()) if (!kept.has(key)) this.memory.delete(key);
    const dir = this.dir;
    if (dir === null) return Promise.resolve();
    this.writes = this.writes
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, "jobs.json"), JSON.stringify({ jobs: finished }), 0o600);
        await pruneLogs(join(dir, "logs"), kept);
      });
    return this.writes;
  }

  writeLog(job: BuildJobRecord, log: string): Promise<void> {
    if (this.dir === null || !SAFE.test(job.node) || !SAFE.test(job.revision)) {
      this.memory.set(jobKey(job), log);
      return Promise.resolve();
    }
    const folder = join(this.dir, "logs", job.node);
    this.writes = this.writes
      .catch(() => undefined)
      .then(async () => {
        await mkdir(folder, { recursive: true });
        await writeFileAtomic(join(folder, `${job.revision}.log`), log, 0o600, { durable: false });
      });
    return this.writes;
  }

  /** Resolves once the writes asked for so far are done (or failed). */
  idle(): Promise<void> {
    return this.writes.catch(() => undefined);
  }

  /** The kept log of `job`, "" when none was kept. */
  async readLog(job: BuildJobRecord): Promise<string> {
    const inMemory = this.memory.get(jobKey(job));
    if (inMemory !== undefined || this.dir === null) return inMemory ?? "";
    await this.idle();
    return readFile(join(this.dir, "logs", job.node, `${job.revision}.log`), "utf8").catch(() => "");
  }
}

async function pruneLogs(root: string, kept: ReadonlySet<string>): Promise<void> {
  const nodes = await readdir(root).catch(() => [] as string[]);
  for (const node of nodes) {
    const files = await readdir(join(root, node)).catch(() => [] as string[]);
    const stale = files.filter((f) => f.endsWith(".log") && !kept.has(`${f.slice(0, -4)}/${node}`));
    for (const f of stale) await rm(join(root, node, f), { force: true });
    if (stale.length === files.length) await rm(join(root, node), { recursive: true, force: true });
  }
}

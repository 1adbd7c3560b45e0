// One `git cat-file --batch-command` kept open per repo: names resolved and objects read with no process per call.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { NkError } from "../../../shared/src/errors/index.js";
import { gitBaseEnv } from "./git-exec.js";

export interface ObjectInfo {
  readonly sha: string;
  readonly type: string;
  readonly size: number;
}

export interface ObjectContents extends ObjectInfo {
  /** null when the object is larger than the caller's limit: git printed it and it was skipped, not held. */
  readonly data: Buffer | null;
}

export interface GitObjectReaderOptions {
  readonly gitDir: string;
  /** Extra environment, e.g. the quarantine object directories of a push in progress. */
  readonly env?: Readonly<Record<string, string>>;
  /** One batch's answer must come within this (default 30 s); else git is killed and the batch fails. */
  readonly timeoutMs?: number;
  /** The process is ended after this long unused (default 120 s) and started again on the next call. */
  readonly idleMs?: number;
}

type Pending = { readonly kind: "info"; readonly name: string } | { readonly kind: "contents"; readonly name: string; readonly maxBytes: number };
type Answer = ObjectInfo | ObjectContents | null;

interface Batch {
  readonly items: readonly Pending[];
  readonly answers: Answer[];
  readonly resolve: (answers: Answer[]) => void;
  readonly reject: (err: Error) => void;
}

// What git accepts as an object name here: no whitespace or control characters (one command per line), no option.
const NAME = /^[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]*$/;

/** Whether `name` (a ref, short name, sha, `rev~1`) can be asked for: the reader refuses anything else. */
export function isObjectName(name: string): boolean {
  return NAME.test(name);
}
const HEADER = /^([0-9a-f]{40,64}) (\w+) (\d+)$/;

/**
 * Answers are read in order from one stream: a header line per object ("<sha> <type> <size>" or "<name> missing"),
 * then for `contents` the object's bytes and a newline. Batches run one at a time.
 */
export class GitObjectReader {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly batches: Batch[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of the current object still to skip (an object over its limit). */
  private skipping = 0;
  /** Bytes the current answer needs before it can be taken (a large object arrives in many chunks). */
  private waitFor = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: GitObjectReaderOptions) {}

  /** Type and size of each name (a sha, a ref, `rev^{tree}`), null for one git does not know. */
  info(names: readonly string[]): Promise<Array<ObjectInfo | null>> {
    return this.run(names.map((name) => ({ kind: "info", name }))) as Promise<Array<ObjectInfo | null>>;
  }

  /** Each object with its bytes; one larger than `maxBytes` comes back with `data: null`. */
  contents(names: readonly string[], maxBytes: number): Promise<Array<ObjectContents | null>> {
    return this.run(names.map((name) => ({ kind: "contents", name, maxBytes }))) as Promise<Array<ObjectContents | null>>;
  }

  /** Ends the process for good: later calls fail. */
  close(): void {
    this.closed = true;
    this.stop(new NkError("UNAVAILABLE", "the git object reader was closed"));
  }

  private run(items: readonly Pending[]): Promise<Answer[]> {
    for (const item of items) {
      if (!isObjectName(item.name)) return Promise.reject(new NkError("INVALID_ARGUMENT", `not an object name git can be asked for: ${JSON.stringify(item.name.slice(0, 200))}`));
    }
    if (items.length === 0) return Promise.resolve([]);
    const next = this.chain.then(() => this.send(items));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private send(items: readonly Pending[]): Promise<Answer[]> {
    if (this.closed) return Promise.reject(new NkError("UNAVAILABLE", "the git object reader was closed"));
    const child = this.process();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    // Held open only while a batch waits, so an idle reader never keeps the process (or a test) alive.
    this.setRef(child, true);
    return new Promise<Answer[]>((resolve, reject) => {
      this.batches.push({ items, answers: [], resolve, reject });
      const timeoutMs = this.options.timeoutMs ?? 30_000;
      this.batchTimer = setTimeout(() => this.stop(new NkError("UNAVAILABLE", `git cat-file did not answer within ${timeoutMs} ms`)), timeoutMs);
      child.stdin.write(items.map((i) => `${i.kind} ${i.name}\n`).join(""));
    }).finally(() => {
      if (this.batchTimer) clearTimeout(this.batchTimer);
      this.batchTimer = null;
      if (this.child === child) {
        this.setRef(child, false);
        this.idleTimer = setTimeout(() => this.stop(null), this.options.idleMs ?? 120_000);
        this.idleTimer.unref();
      }
    });
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const env = gitBaseEnv({ GIT_DIR: this.options.gitDir, ...this.options.env });
    const child = spawn("git", ["cat-file", "--batch-command"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => void (stderr = (stderr + s).slice(-4096)));
    // Output of a process already given up on (killed after a timeout) may still arrive: it answers nothing now.
    child.stdout.on("data", (chunk: Buffer) => {
      if (this.child === child) this.onData(chunk);
    });
    child.stdin.on("error", () => undefined);
    child.on("error", (err) => this.stop(new NkError("UNAVAILABLE", `cannot run git: ${err.message}`, { cause: err }), child));
    child.on("close", (code, signal) => this.stop(new NkError("IO", `git cat-file exited (${signal ?? code}): ${stderr.trim().split("\n").slice(-2).join(" ")}`), child));
    this.child = child;
    return child;
  }

  private setRef(child: ChildProcessWithoutNullStreams, ref: boolean): void {
    for (const handle of [child, child.stdout, child.stderr, child.stdin] as Array<{ ref?: () => void; unref?: () => void }>) {
      if (ref) handle.ref?.();
      else handle.unref?.();
    }
  }

  /** Fails the batches waiting on `child` (or on any process, when omitted) and forgets the process. */
  private stop(err: Error | null, child: ChildProcessWithoutNullStreams | null = this.child): void {
    if (child === null || child !== this.child) return;
    this.child = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.chunks = [];
    this.buffered = 0;
    this.skipping = 0;
    this.waitFor = 0;
    child.stdin.end();
    child.stdout.destroy();
    child.kill("SIGKILL");
    for (const batch of this.batches.splice(0)) batch.reject(err ?? new NkError("UNAVAILABLE", "git cat-file stopped"));
  }

  private onData(chunk: Buffer): void {
    if (this.skipping > 0) {
      const skip = Math.min(this.skipping, chunk.length);
      this.skipping -= skip;
      chunk = chunk.subarray(skip);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.waitFor) return;
    try {
      this.drain();
    } catch (err) {
      this.stop(err as Error);
    }
  }

  /** Takes every complete answer off the buffer. */
  private drain(): void {
    for (;;) {
      const batch = this.batches[0];
      if (!batch) {
        if (this.buffered > 0) throw new NkError("IO", "git cat-file printed more than it was asked for");
        return;
      }
      const item = batch.items[batch.answers.length]!;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [buf];
      const eol = buf.indexOf(0x0a);
      if (eol < 0) return;
      const header = buf.toString("utf8", 0, eol);
      let used = eol + 1;
      let answer: Answer;
      if (header.endsWith(" missing") || header.endsWith(" ambiguous")) answer = null;
      else {
        const m = HEADER.exec(header);
        if (!m) throw new NkError("IO", `unexpected git cat-file output: ${JSON.stringify(header.slice(0, 200))}`);
        const info: ObjectInfo = { sha: m[1]!, type: m[2]!, size: Number(m[3]) };
        if (item.kind === "info") answer = info;
        else if (info.size > item.maxBytes) {
          // Skipped as it streams past: never held in memory.
          const have = buf.length - used;
          const need = info.size + 1;
          if (have < need) this.skipping = need - have;
          used = Math.min(buf.length, used + need);
          answer = { ...info, data: null };
        } else {
          if (buf.length < used + info.size + 1) return void (this.waitFor = used + info.size + 1);
          answer = { ...info, data: Buffer.from(buf.subarray(used, used + info.size)) };
          used += info.size + 1;
        }
      }
      const rest = buf.subarray(used);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.waitFor = 0;
      batch.answers.push(answer);
      if (batch.answers.length === batch.items.length) {
        this.batches.shift();
        batch.resolve(batch.answers);
      }
    }
  }
}

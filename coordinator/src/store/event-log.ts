// The durable event journal: events.jsonl appended with group commit + fdatasync, rotated once, torn tail repaired at open.
import { open, readFile, rename, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { fsyncDir } from "../../../shared/src/fs/index.js";
import { GroupCommit } from "./group-commit.js";
import type { EventInput, EventListener, EventRecord, ReadEventsOptions } from "./store.js";
import { ShapeError, int, obj, optional, str, strMap, type Check } from "./validate.js";

export const EVENTS_FILE = "events.jsonl";
export const EVENTS_OLD_FILE = "events.1.jsonl";

const eventRecord: Check<EventRecord> = obj({
  seq: int,
  timeMs: int,
  kind: str,
  node: optional(str),
  revision: optional(str),
  message: str,
  fields: optional(strMap),
});

export interface EventLogOptions {
  dir: string;
  clock: () => number;
  logger: Logger;
  /** Recent events served from memory (default 10,000). */
  memoryEvents?: number | undefined;
  /** events.jsonl is moved to events.1.jsonl past this size (default 32 MiB). */
  rotateBytes?: number | undefined;
}

interface Parsed {
  events: EventRecord[];
  /** Byte length of the valid prefix; anything after it is an unacknowledged torn write. */
  validBytes: number;
}

/** Parses a journal; invalid lines are tolerated only as a tail after the last valid line. */
function parseJournal(buf: Buffer, file: string): Parsed {
  const events: EventRecord[] = [];
  let offset = 0;
  let validBytes = 0;
  let firstBad: { line: number; problem: string } | undefined;
  let line = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    if (nl < 0) break; // no newline: the last write was torn
    line++;
    const text = buf.toString("utf8", offset, nl);
    offset = nl + 1;
    try {
      const event = eventRecord(JSON.parse(text), "");
      if (firstBad) throw new NkError("STATE_CORRUPT", `${file}: line ${firstBad.line} is damaged (${firstBad.problem}) but later lines are intact`);
      const prev = events[events.length - 1];
      if (prev && event.seq <= prev.seq) throw new NkError("STATE_CORRUPT", `${file}: line ${line} has seq ${event.seq} after seq ${prev.seq}`);
      events.push(event);
      validBytes = offset;
    } catch (err) {
      if (err instanceof NkError) throw err;
      firstBad ??= { line, problem: err instanceof ShapeError ? err.message : "not JSON" };
    }
  }
  return { events, validBytes };
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NkError("IO", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export class EventLog {
  private pending: EventRecord[] = [];
  private readonly listeners = new Set<EventListener>();
  private readonly commit: GroupCommit;
  private fileLock: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly opts: Required<EventLogOptions>,
    private fh: FileHandle,
    private size: number,
    private lastSeq: number,
    /** The newest durable events, oldest first. */
    private ring: EventRecord[],
    /** True while the ring still holds every event in the files. */
    private ringComplete: boolean,
  ) {
    this.commit = new GroupCommit(() => this.writePending(), join(opts.dir, EVENTS_FILE));
  }

  static async open(options: EventLogOptions): Promise<EventLog> {
    const opts: Required<EventLogOptions> = { ...options, memoryEvents: options.memoryEvents ?? 10_000, rotateBytes: options.rotateBytes ?? 32 * 1024 * 1024 };
    const path = join(opts.dir, EVENTS_FILE);
    const current = parseJournal((await readIfExists(path)) ?? Buffer.alloc(0), path);
    const fh = await open(path, "a+", 0o600);
    const { size } = await fh.stat();
    if (size > current.validBytes) {
      opts.logger.warn({ file: path, bytes: size - current.validBytes }, "dropping torn tail of the event journal");
      await fh.truncate(current.validBytes);
      await fh.sync();
    }
    const oldPath = join(opts.dir, EVENTS_OLD_FILE);
    const oldBuf = await readIfExists(oldPath);
    let lastSeq = current.events[current.events.length - 1]?.seq ?? 0;
    if (lastSeq === 0 && oldBuf) lastSeq = parseJournal(oldBuf, oldPath).events.at(-1)?.seq ?? 0;
    const ring = current.events.slice(-opts.memoryEvents);
    const complete = !oldBuf && ring.length === current.events.length;
    return new EventLog(opts, fh, current.validBytes, lastSeq, ring, complete);
  }

  /** The highest seq assigned so far (0 for an empty journal). */
  get seq(): number {
    return this.lastSeq;
  }

  get writeCount(): number {
    return this.commit.writeCount;
  }

  async append(input: EventInput): Promise<EventRecord> {
    if (this.commit.failed) throw this.commit.failed;
    const event: EventRecord = { seq: this.lastSeq + 1, timeMs: Math.floor(this.opts.clock()), kind: input.kind, message: input.message };
    if (input.node !== undefined) event.node = input.node;
    if (input.revision !== undefined) event.revision = input.revision;
    if (input.fields !== undefined) event.fields = { ...input.fields };
    this.lastSeq = event.seq;
    this.pending.push(event);
    await this.commit.commit();
    return event;
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async read(options: ReadEventsOptions = {}): Promise<EventRecord[]> {
    const after = options.afterSeq ?? 0;
    const tail = options.tail;
    const fromRing = this.ring.filter((e) => e.seq > after);
    const ringStart = this.ring[0]?.seq ?? this.lastSeq + 1;
    const enough = this.ringComplete || ringStart <= after + 1 || (tail !== undefined && fromRing.length >= tail);
    const found = enough ? fromRing : await this.scanFiles(after);
    return tail === undefined ? found : found.slice(Math.max(0, found.length - tail));
  }

  async close(): Promise<void> {
    await this.commit.settled().catch(() => undefined);
    await this.exclusive(() => this.fh.close());
  }

  /** Runs file-level work (rotation, scans) one at a time, so a scan never sees half a rotation. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.fileLock.then(fn);
    this.fileLock = run.catch(() => undefined);
    return run;
  }

  private async scanFiles(after: number): Promise<EventRecord[]> {
    const durableSeq = this.ring[this.ring.length - 1]?.seq ?? 0;
    return this.exclusive(async () => {
      const out: EventRecord[] = [];
      for (const name of [EVENTS_OLD_FILE, EVENTS_FILE]) {
        const path = join(this.opts.dir, name);
        const buf = await readIfExists(path);
        if (buf) for (const e of parseJournal(buf, path).events) if (e.seq > after && e.seq <= durableSeq) out.push(e);
      }
      return out;
    });
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const data = Buffer.from(batch.map((e) => `${JSON.stringify(e)}\n`).join(""), "utf8");
    await this.exclusive(async () => {
      await this.fh.write(data, 0, data.length, null);
      await this.fh.datasync();
      this.size += data.length;
      if (this.size >= this.opts.rotateBytes) await this.rotate();
    });
    for (const e of batch) this.ring.push(e);
    if (this.ring.length > this.opts.memoryEvents) {
      this.ring.splice(0, this.ring.length - this.opts.memoryEvents);
      this.ringComplete = false;
    }
    for (const e of batch) this.emit(e);
  }

  private async rotate(): Promise<void> {
    const path = join(this.opts.dir, EVENTS_FILE);
    await this.fh.close();
    await rename(path, join(this.opts.dir, EVENTS_OLD_FILE));
    this.fh = await open(path, "a+", 0o600);
    await fsyncDir(this.opts.dir);
    this.size = (await stat(path)).size;
    this.ringComplete = false;
    this.opts.logger.info({ file: path }, "event journal rotated");
  }

  private emit(event: EventRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.opts.logger.error({ err, seq: event.seq }, "event listener failed");
      }
    }
  }
}

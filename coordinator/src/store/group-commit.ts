// Group commit: callers that ask for durability while a write is running share the next single write.
import { NkError } from "../../../shared/src/errors/index.js";

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Marked handled here; every caller still sees the rejection through its own await.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * `write` must capture what it persists synchronously, before its first await, so that a change
 * made before `commit()` is always inside the write that resolves it. Writes never overlap.
 * After a failed write every later commit is refused: memory may be ahead of disk, and only a
 * restart from the last durable state is safe.
 */
export class GroupCommit {
  private next: Batch | undefined;
  private current: Batch | undefined;
  private failure: NkError | undefined;
  private writes = 0;

  constructor(
    private readonly write: () => Promise<void>,
    private readonly what: string,
  ) {}

  /** Resolves after a write that began after this call has completed. */
  commit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.next) {
      this.next = newBatch();
      // setImmediate gathers every request that arrives in the same event-loop turn.
      if (!this.current) setImmediate(() => void this.run());
    }
    return this.next.promise;
  }

  /** Resolves once every commit requested so far has completed. */
  settled(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return (this.next ?? this.current)?.promise ?? Promise.resolve();
  }

  /** Number of writes performed, for tests and metrics. */
  get writeCount(): number {
    return this.writes;
  }

  get failed(): NkError | undefined {
    return this.failure;
  }

  private async run(): Promise<void> {
    while (this.next && !this.failure) {
      this.current = this.next;
      this.next = undefined;
      try {
        await this.write();
        this.writes++;
        this.current.resolve();
      } catch (err) {
        this.failure = new NkError("IO", `writing ${this.what} failed, the store refuses further changes until restarted: ${(err as Error).message}`, { cause: err });
        this.current.reject(this.failure);
        // Requests that arrived during the failed write are refused too (TS cannot see they exist).
        (this.next as Batch | undefined)?.reject(this.failure);
        this.next = undefined;
      }
      this.current = undefined;
    }
  }
}

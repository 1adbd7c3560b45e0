// Coalesces calls into batches: items submitted in one event-loop turn, or while every slot is busy, share one call.

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (out: O) => void;
  readonly reject: (err: unknown) => void;
}

export interface TickBatcherOptions<I> {
  /** Most weight per batch (default: one per item). */
  readonly maxWeight: number;
  /** Batches in flight at once. */
  readonly parallel: number;
  /** An item's weight, e.g. its number of etcd operations; at least 1. */
  readonly weight?: (item: I) => number;
}

/**
 * A batch is sent on a later turn than every item in it was submitted, so a batched read still starts after
 * each caller asked (reads stay linearizable). `run` answers item by item, in order; if it throws, every item
 * of that batch gets the error, as each would have alone.
 */
export class TickBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: TickBatcherOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.parallel || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    const weightOf = this.options.weight ?? (() => 1);
    while (this.inFlight < this.options.parallel && this.queue.length > 0) {
      let weight = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || weight + weightOf(this.queue[n]!.item) <= this.options.maxWeight)) weight += weightOf(this.queue[n++]!.item);
      const batch = this.queue.splice(0, n);
      this.inFlight++;
      this.run(batch.map((w) => w.item))
        .then(
          (outs) => batch.forEach((w, i) => w.resolve(outs[i]!)),
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}

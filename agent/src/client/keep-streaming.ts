// Keeps one server stream open for as long as the agent runs: reconnects with jittered backoff, fails over on UNAVAILABLE.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { Backoff } from "./backoff.js";
import { isUnavailable, type ServerStream } from "./coordinator-client.js";

/** A stream that carried data or stayed up this long counts as a success: the next loss starts the backoff over. */
export const STREAM_PROVEN_MS = 5_000;

export interface KeepStreamingOptions<T> {
  /** Opens the stream on the client's current address. */
  readonly open: () => ServerStream<T>;
  readonly onData: (value: T) => void;
  /** Runs before each (re)open, e.g. Hello; a failure counts as a failed connection. */
  readonly onConnect: () => Promise<void>;
  /** Moves the client to the next coordinator address (or a fresh channel when there is only one). */
  readonly failover: () => void;
  readonly log: Logger;
  /** Names the stream in logs. */
  readonly what: string;
  readonly now?: () => number;
  readonly setTimer?: (ms: number, fn: () => void) => () => void;
  readonly random?: () => number;
}

const realTimer = (ms: number, fn: () => void): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/** Starts streaming at once; the returned function stops for good (cancels the stream and any pending retry). */
export function keepStreaming<T>(options: KeepStreamingOptions<T>): () => void {
  const { open, onData, onConnect, failover, log, what } = options;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? realTimer;
  const backoff = new Backoff({ initialMs: 250, maxMs: 15_000, random: options.random ?? Math.random });
  let stopped = false;
  let current: ServerStream<T> | null = null;
  let cancelRetry: (() => void) | null = null;
  const retryLater = (wait: number): void => {
    cancelRetry = setTimer(wait, () => {
      cancelRetry = null;
      connect();
    });
  };
  const connect = (): void => {
    if (stopped) return;
    onConnect()
      .then(() => {
        if (stopped) return;
        const stream = open();
        current = stream;
        const openedAt = now();
        let healthy = false;
        stream.on("data", (value) => {
          healthy = true;
          onData(value);
        });
        const again = (reason: string): void => {
          if (current !== stream || stopped) return;
          current = null;
          // The check stream may go minutes without a message: time up counts as well as data.
          if (healthy || now() - openedAt >= STREAM_PROVEN_MS) backoff.reset();
          const wait = backoff.next();
          log.warn({ stream: what, reason, retryInMs: wait }, "stream lost; reconnecting");
          retryLater(wait);
        };
        stream.on("error", (err) => {
          // This coordinator is away (or refuses as a follower): try the next address.
          if (isUnavailable(err)) failover();
          again(errorMessage(err));
        });
        stream.on("end", () => again("ended by the coordinator"));
      })
      .catch((err: unknown) => {
        // As for a lost stream: the next address, or a fresh channel when there is only one.
        if (isUnavailable(err)) failover();
        const wait = backoff.next();
        log.warn({ stream: what, err: errorMessage(err), retryInMs: wait }, "cannot reach the coordinator; retrying");
        retryLater(wait);
      });
  };
  connect();
  return () => {
    stopped = true;
    cancelRetry?.();
    current?.cancel();
  };
}

// Takes each retry request `nk-agent retry` writes into the state directory, at once (inotify) and at start.
import { watch, type FSWatcher } from "node:fs";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { RETRY_REQUEST_FILE, takeRetryRequest, type RetryRequest } from "./retry-request.js";

export interface RetryWatcherOptions {
  readonly stateDir: string;
  readonly onRequest: (request: RetryRequest) => void;
  readonly log: Logger;
}

/** Returns stop(). A request written while the agent was down is taken when it starts. */
export function watchRetryRequests(options: RetryWatcherOptions): () => void {
  const { stateDir, onRequest, log } = options;
  let taking: Promise<void> = Promise.resolve();
  let stopped = false;
  const take = (): void => {
    taking = taking.then(async () => {
      if (stopped) return;
      try {
        const request = await takeRetryRequest(stateDir);
        if (request) onRequest(request);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, "ignored an unreadable retry request (it was removed)");
      }
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    // The atomic write renames its temp file onto the name: that rename is the event.
    watcher = watch(stateDir, { persistent: false }, (_event, file) => {
      if (file === RETRY_REQUEST_FILE) take();
    });
    watcher.on("error", (err) => log.warn({ err: errorMessage(err) }, "stopped watching for retry requests; nk-agent retry is taken at the next start"));
  } catch (err) {
    log.warn({ err: errorMessage(err), stateDir }, "cannot watch for retry requests; nk-agent retry is taken at the next start");
  }
  take();
  return () => {
    stopped = true;
    watcher?.close();
  };
}

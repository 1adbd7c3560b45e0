// A builder agent's side of WatchBuildJobs: run each job as it arrives, report its outcome and log, keep the stream open.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { keepStreaming } from "../client/keep-streaming.js";
import type { ServerStream } from "../client/coordinator-client.js";
import type { Builder, BuildJob, BuildJobResult } from "./builder.js";

export interface BuildJobsClient {
  watchBuildJobs(): ServerStream<BuildJob>;
  reportBuild(job: BuildJob, result: BuildJobResult): Promise<void>;
  failover(): void;
}

/** Starts serving build jobs; the returned function stops the stream and aborts the builds in flight. */
export function serveBuildJobs(builder: Builder, client: BuildJobsClient, log: Logger): () => void {
  const running = new Set<AbortController>();
  const run = (job: BuildJob): void => {
    const ac = new AbortController();
    running.add(ac);
    log.info({ node: job.node, rev: job.revision }, "build job started");
    void builder
      .build(job, ac.signal)
      .catch((err: unknown): BuildJobResult => ({ ok: false, error: errorMessage(err), log: "" }))
      .then(async (result) => {
        running.delete(ac);
        if (ac.signal.aborted) return;
        log.info({ node: job.node, rev: job.revision, ok: result.ok, ...(result.ok ? { systemPath: result.built.systemPath } : { error: result.error }) }, "build job finished");
        // A report that does not arrive leaves the job with this builder until its stream ends; then it goes elsewhere.
        await client.reportBuild(job, result).catch((err: unknown) => log.warn({ node: job.node, err: errorMessage(err) }, "reporting a build failed"));
      });
  };
  const stop = keepStreaming({ open: () => client.watchBuildJobs(), onData: run, onConnect: async () => undefined, failover: () => client.failover(), log, what: "build jobs" });
  return () => {
    stop();
    for (const ac of running) ac.abort(new Error("agent stopping"));
  };
}

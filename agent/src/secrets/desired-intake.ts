// Hands each desired bundle to the state machine once its secrets are on disk, newest only, retrying fetches.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { DesiredBundle } from "../../../shared/src/wire/index.js";
import type { AgentEvent, Clock } from "../apply/index.js";
import { Backoff, newestOnly } from "../client/index.js";
import type { SecretWriter } from "./secret-writer.js";

export interface DesiredIntakeDeps {
  /** FetchSecrets: only the names the bundle lists. */
  readonly fetch: (names: readonly string[]) => Promise<ReadonlyMap<string, Buffer>>;
  readonly writer: SecretWriter;
  readonly dispatch: (event: AgentEvent) => void;
  readonly clock: Clock;
  readonly log: Logger;
  readonly random?: () => number;
}

/**
 * In arrival order: a bundle superseded while its secrets were fetched is not applied after the newer one. A bundle
 * whose secrets cannot be fetched waits (k3s without its token would fail and mark a good bundle bad), retried.
 */
export class DesiredIntake {
  private readonly retries = new Set<() => void>();
  private readonly backoff: Backoff;
  private readonly intake: (desired: DesiredBundle) => void;

  constructor(private readonly deps: DesiredIntakeDeps) {
    const { clock, log, dispatch } = deps;
    this.backoff = new Backoff({ initialMs: 2_000, maxMs: 60_000, random: deps.random ?? Math.random });
    this.intake = newestOnly(
      (desired: DesiredBundle) => this.fetchSecrets(desired),
      (desired: DesiredBundle) => {
        this.backoff.reset();
        dispatch({ type: "desired-received", now: clock.now(), desired });
      },
      {
        delayMs: () => Math.max(1_000, this.backoff.next()),
        setTimer: (ms, fn) => {
          const cancel = clock.setTimer(ms, () => (this.retries.delete(cancel), fn()));
          this.retries.add(cancel);
        },
        onFailed: (desired, err, retryInMs) => {
          log.warn({ err: errorMessage(err), revision: desired.revision, retryInMs }, "could not fetch secrets; the bundle waits");
          dispatch({ type: "secrets-failed", now: clock.now(), revision: desired.revision, sha256: desired.sha256, error: `${errorMessage(err)} (next try in ${Math.round(retryInMs / 1000)} s)` });
        },
      },
    );
  }

  offer(desired: DesiredBundle): void {
    this.intake(desired);
  }

  /** Cancels pending retries. */
  stop(): void {
    for (const cancel of this.retries) cancel();
    this.retries.clear();
  }

  private async fetchSecrets(desired: DesiredBundle): Promise<void> {
    if (desired.secretNames.length === 0) return;
    const written = await this.deps.writer.writeAll(await this.deps.fetch(desired.secretNames));
    this.deps.log.debug({ files: written.length }, "secrets written");
  }
}

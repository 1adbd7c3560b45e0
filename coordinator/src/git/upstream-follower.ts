// Follow mode: fetch main from an upstream remote (timer + webhook), validate it, adopt only good commits.
import { errorMessage, isNkError, NkError } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { doublingDelayMs } from "../../../shared/src/time/index.js";
import { runGit } from "./git-exec.js";
import { MAIN_REF, UPSTREAM_REF, UPSTREAM_TIP_REF, type GitRepo } from "./git-repo.js";
import type { HookVerdict } from "./hook-server.js";
import type { TreeSnapshot } from "./tree-snapshot.js";

export interface UpstreamFollowerOptions {
  readonly repo: GitRepo;
  /** A URL git can fetch (https://, ssh://, file://) or a local path. */
  readonly url: string;
  /** Upstream branch to follow; default main. */
  readonly branch?: string;
  /** Poll interval; 0 = only on demand (webhook, sync()). */
  readonly intervalMs: number;
  /** Same validation as a push: typically validatePushedTree with the coordinator's secret names. */
  readonly validate: (tree: TreeSnapshot) => Promise<HookVerdict>;
  /** A good upstream commit is now main. */
  readonly onAccepted: (revision: string) => void | Promise<void>;
  /** An upstream commit failed validation; main stays on the last good revision. Reported once per commit. */
  readonly onRejected?: (revision: string, lines: readonly string[]) => void;
  /** e.g. "Authorization: Bearer <token>" for an HTTP upstream (kept out of the URL and the logs). */
  readonly extraHeader?: string;
  /** How git authenticates to the upstream (GIT_ASKPASS, GIT_SSH_COMMAND: see upstreamAuthEnv); names files, never secrets. */
  readonly authEnv?: Readonly<Record<string, string>>;
  /** Default 60 s. */
  readonly fetchTimeoutMs?: number;
  /**
   * Whether main's commit is owed an adoption although upstream did not move: the coordinator served it but wrote
   * nothing, because the shared store named a revision it could not yet tell apart from a newer one (upstream's tip
   * could not be fetched for the check). A sync that finds main unchanged adopts it again.
   */
  readonly owesAdoption?: (revision: string) => boolean;
  /** First wait before a failed adoption is tried again (default 1 s; doubling up to the poll interval or 30 s). */
  readonly adoptRetryMs?: number;
  /** How long after a sync that changed something git's housekeeping runs (default 10 s; see maintainSoon). */
  readonly maintainAfterMs?: number;
  readonly log?: Logger;
}

const MAINTAIN_AFTER_MS = 10_000;
/** Exit codes of a failed fetch, read here rather than thrown (their stderr says why). */
const GIT_FAILURES = Array.from({ length: 255 }, (_, i) => i + 1).concat(-1);

/** How long upstream's tip may take to fetch for the store check (fetchTip), at most. */
const TIP_FETCH_TIMEOUT_MS = 15_000;

export type SyncStatus = "unchanged" | "adopted" | "rejected" | "failed";

export interface SyncResult {
  readonly status: SyncStatus;
  /** The upstream commit looked at (null when the fetch failed). */
  readonly revision: string | null;
  /** Validation lines for adopted/rejected, the error for failed. */
  readonly lines: readonly string[];
}

/** Text without the credentials of any URL in it, for logs and reports. */
export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, "$1***@");
}

export class UpstreamFollower {
  private readonly log: Logger;
  private readonly branch: string;
  private current: Promise<SyncResult> | null = null;
  private queued: Promise<SyncResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private rejected: { revision: string; lines: readonly string[] } | null = null;
  private last: SyncResult | null = null;
  /**
   * A commit main was moved to whose adoption then failed (a store write with etcd cut off, HA chaos seed 25700126):
   * agents may have it, but the shared store does not, so the leader held a node's lease request as stale for good.
   * Adopted again by the next syncs (sooner than the poll, with backoff) until it is, or main moves on.
   */
  private unadopted: { revision: string; attempts: number } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** git's housekeeping, due after a sync that changed something; syncs wait for a run under way. */
  private readonly maintenance: { timer: NodeJS.Timeout | null; running: Promise<void> | null } = { timer: null, running: null };

  constructor(private readonly options: UpstreamFollowerOptions) {
    if (!options.url || options.url.startsWith("-")) throw new NkError("CONFIG_INVALID", "upstream url: must be a git URL or path");
    this.branch = options.branch ?? "main";
    if (!/^[A-Za-z0-9._/-]+$/.test(this.branch) || this.branch.startsWith("-") || this.branch.includes("..")) {
      throw new NkError("CONFIG_INVALID", `upstream branch: invalid name ${JSON.stringify(this.branch)}`);
    }
    this.log = (options.log ?? silentLogger()).child({ component: "upstream", url: redactUrl(options.url) });
  }

  /** The outcome of the latest sync, if any. */
  get lastResult(): SyncResult | null {
    return this.last;
  }

  /** Syncs at once, then every intervalMs after each sync ends. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.tick();
  }

  /** Stops the timer and waits for a sync in progress. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.maintenance.timer) clearTimeout(this.maintenance.timer);
    this.maintenance.timer = null;
    await Promise.allSettled([this.current, this.queued, this.maintenance.running]);
  }

  /**
   * Fetches and, if upstream moved, validates and adopts. Syncs never overlap; calls made while one
   * runs share a single follow-up sync (a burst of webhooks fetches at most twice).
   */
  sync(): Promise<SyncResult> {
    if (this.queued) return this.queued;
    if (this.current) {
      this.queued = this.current.then(() => this.begin());
      return this.queued;
    }
    return this.begin();
  }

  private begin(): Promise<SyncResult> {
    this.queued = null;
    // After git's housekeeping if it runs: both write the repo's refs and packs.
    const run: Promise<SyncResult> = (this.maintenance.running ?? Promise.resolve()).then(() => this.syncNow()).finally(() => {
      if (this.current === run) this.current = null;
    });
    this.current = run;
    return run;
  }

  private tick(): void {
    void this.sync().finally(() => {
      if (this.running && this.options.intervalMs > 0) {
        this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
        this.timer.unref();
      }
    });
  }

  private async syncNow(): Promise<SyncResult> {
    const result = await this.fetchAndAdopt().catch((err: unknown): SyncResult => {
      if (this.unadopted !== null) this.log.warn({ err: errorMessage(err), rev: this.unadopted.revision }, "adopting main's new commit failed; trying again shortly");
      else this.log.warn({ err: errorMessage(err) }, "upstream sync failed; staying on the last good revision");
      return { status: "failed", revision: null, lines: [errorMessage(err)] };
    });
    this.last = result;
    if (this.unadopted !== null) this.retryAdoption(this.unadopted.attempts);
    if (result.status === "adopted" || result.status === "rejected") this.maintainSoon();
    return result;
  }

  /**
   * The fetch leaves out git's housekeeping check, and it does not run right after the sync either: forking git from
   * a coordinator with a large heap holds its event loop for tens of ms, while the push's bundles are still being
   * written to thousands of agent streams. It runs a while later (once for a burst of syncs), never beside a sync.
   */
  private maintainSoon(delayMs = this.options.maintainAfterMs ?? MAINTAIN_AFTER_MS): void {
    if (this.maintenance.timer || this.stopped) return;
    this.maintenance.timer = setTimeout(() => {
      this.maintenance.timer = null;
      // A sync under way (or queued): tried again a while later (at least a second, so a short delay does not spin).
      if (this.current || this.queued) return void this.maintainSoon(Math.max(1000, delayMs));
      const run = this.options.repo.maintain().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, "git maintenance after a sync failed"));
      this.maintenance.running = run.finally(() => {
        this.maintenance.running = null;
      });
    }, delayMs);
    this.maintenance.timer.unref();
  }

  /**
   * Fetches upstream's branch now, apart from the syncs (into a ref of its own, so it may run beside one), and
   * returns its commit. For the shared store's check (storeRevisionAhead): only upstream as it is after the store was
   * read tells a newer stored commit from one a force push dropped.
   */
  async fetchTip(): Promise<string> {
    // Bounded tighter than a sync: an adoption (at start, before agents are served) waits on it.
    await this.fetchInto(UPSTREAM_TIP_REF, Math.min(this.options.fetchTimeoutMs ?? 60_000, TIP_FETCH_TIMEOUT_MS));
    const [tip = null] = await this.options.repo.resolveRefs([UPSTREAM_TIP_REF]);
    if (tip === null) throw new NkError("IO", `upstream has no branch ${this.branch}`);
    return tip;
  }

  private async fetchInto(ref: string, timeoutMs = this.options.fetchTimeoutMs ?? 60_000): Promise<void> {
    const { repo } = this.options;
    // Settings go in through the environment: a header with a token must not show in `ps` or in errors.
    const settings: [string, string][] = [["credential.helper", ""], ["protocol.ext.allow", "never"]];
    if (this.options.extraHeader) settings.push(["http.extraHeader", this.options.extraHeader]);
    const env: Record<string, string> = { ...this.options.authEnv, GIT_CONFIG_COUNT: String(settings.length) };
    settings.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    // Through runGit, not simple-git: simple-git waits 50 ms more after a command that printed nothing, as a quiet
    // fetch does, and this fetch is on every push's way to the agents. Run in the repo's folder, as simple-git did,
    // so that a relative upstream path means what it meant.
    const git = repo.gitOptions();
    const refspec = `+refs/heads/${this.branch}:${ref}`;
    const args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--no-auto-maintenance", this.options.url, refspec];
    const failed = (why: string): NkError => new NkError("UNAVAILABLE", redactUrl(`fetch ${this.options.url} ${this.branch} failed: ${why}`));
    const result = await runGit(args, { ...git, env: { ...git.env, ...env }, cwd: repo.root, timeoutMs, okCodes: GIT_FAILURES, ownProcessGroup: true }).catch((err: unknown) => {
      if (isNkError(err, "UNAVAILABLE") && /timed out/.test(err.message)) throw new NkError("UNAVAILABLE", `git fetch timed out after ${timeoutMs} ms`);
      throw failed(errorMessage(err));
    });
    if (result.code === 0) return;
    const lines = result.stderr.trim().split("\n");
    const why = (lines.some((l) => /^(fatal|error):/.test(l)) ? lines.filter((l) => /^(fatal|error):/.test(l)) : lines.slice(-1)).join(" ");
    throw failed(why || "git exited with an error");
  }

  private async fetchAndAdopt(): Promise<SyncResult> {
    const { repo } = this.options;
    const t0 = performance.now();
    await this.fetchInto(UPSTREAM_REF);
    const t1 = performance.now();
    const [upstream = null, head = null] = await repo.resolveRefs([UPSTREAM_REF, MAIN_REF]);
    if (upstream === null) throw new NkError("IO", `upstream has no branch ${this.branch}`);
    // Main moved on by another way (a restart adopted it): nothing is owed for an older commit.
    if (this.unadopted !== null && this.unadopted.revision !== head) this.unadopted = null;
    if (upstream === head && head !== null && (this.unadopted?.revision === head || this.options.owesAdoption?.(head))) {
      await this.adopt(head);
      return { status: "adopted", revision: head, lines: [] };
    }
    if (upstream === head) return { status: "unchanged", revision: upstream, lines: [] };
    // A rejected commit is validated again on every sync: it may pass now (e.g. its missing secret was set).
    const snapshot = await repo.readResolvedSnapshot(upstream);
    const t2 = performance.now();
    const verdict = await this.options.validate(snapshot);
    const t3 = performance.now();
    if (!verdict.ok) {
      // Main stays, and a failed or deferred adoption of it is owed all the same (a bad newer commit must not hold it
      // back), while upstream still builds on it: a main upstream dropped must not be written over the store's commit.
      if (head !== null && (this.unadopted?.revision === head || this.options.owesAdoption?.(head)) && (await repo.isAncestor(head, upstream))) {
        // A failure is logged and left to `unadopted` (tried again shortly): the rejection is still reported below.
        await this.adopt(head).catch((err: unknown) => this.log.warn({ err: errorMessage(err), rev: head }, "adopting main again failed; trying again shortly"));
      }
      const same = this.rejected?.revision === upstream && this.rejected.lines.join("\n") === verdict.lines.join("\n");
      if (same) return { status: "rejected", revision: upstream, lines: verdict.lines };
      this.rejected = { revision: upstream, lines: verdict.lines };
      this.log.warn({ rev: upstream, problems: verdict.lines.length }, "upstream commit rejected; staying on the last good revision");
      this.options.onRejected?.(upstream, verdict.lines);
      return { status: "rejected", revision: upstream, lines: verdict.lines };
    }
    // Compare-and-swap: main moves only from the revision this sync saw.
    await repo.moveMain(upstream, head, `follow ${redactUrl(this.options.url)} ${this.branch}`);
    this.rejected = null;
    // Where a push's time goes before the render: the fetch, reading the tree, validating it, moving main.
    const ms = (a: number, b: number): number => Math.round(b - a);
    this.log.info({ rev: upstream, previous: head, fetchMs: ms(t0, t1), readMs: ms(t1, t2), validateMs: ms(t2, t3), moveMs: ms(t3, performance.now()) }, "upstream commit adopted");
    this.unadopted = { revision: upstream, attempts: 0 };
    await this.adopt(upstream);
    return { status: "adopted", revision: upstream, lines: verdict.lines };
  }

  /** Hands main's new commit to the coordinator; until that succeeds, `unadopted` names it. */
  private async adopt(revision: string): Promise<void> {
    try {
      await this.options.onAccepted(revision);
    } catch (err) {
      const attempts = (this.unadopted?.revision === revision ? this.unadopted.attempts : 0) + 1;
      this.unadopted = { revision, attempts };
      throw new NkError("UNAVAILABLE", `main is at ${revision.slice(0, 12)}, but adopting it failed (attempt ${attempts}; tried again shortly): ${errorMessage(err)}`, { cause: err });
    }
    if (this.unadopted?.revision === revision) {
      if (this.unadopted.attempts > 0) this.log.info({ rev: revision, attempts: this.unadopted.attempts + 1 }, "upstream commit adopted on a later attempt");
      this.unadopted = null;
    }
  }

  /** A sync soon after a failed adoption: 1 s, 2 s, 4 s ... up to the poll interval (or 30 s). */
  private retryAdoption(attempts: number): void {
    if (!this.running || this.retryTimer) return;
    const cap = this.options.intervalMs > 0 ? this.options.intervalMs : 30_000;
    const delayMs = doublingDelayMs(this.options.adoptRetryMs ?? 1_000, attempts, cap);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.sync();
    }, delayMs);
    this.retryTimer.unref();
  }
}

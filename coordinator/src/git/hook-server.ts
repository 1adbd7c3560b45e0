// Answers the git hooks over <stateDir>/run/hooks.sock: ref policy here, validation and adoption by the caller.
import { chmod, mkdir, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join, resolve, sep } from "node:path";
import { errorMessage, NkError } from "../../../shared/src/errors/index.js";
import { isPreviewName, PREVIEW_NAME_RULE } from "../../../shared/src/names/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import type { AuditEntry } from "../auth/index.js";
import { MAIN_REF, ZERO_SHA, type GitRepo, type QuarantineEnv } from "./git-repo.js";
import { installHooks, type HookRequest, type HookResponse } from "./hook-script.js";
import { STALE_LOCKS_REMOVED } from "./stale-locks.js";
import type { TreeSnapshot } from "./tree-snapshot.js";

export interface RefUpdate {
  readonly oldSha: string;
  readonly newSha: string;
  readonly ref: string;
  /** The user name the pusher gave git over HTTP (REMOTE_USER), when the hook saw one. */
  readonly pusher?: string;
}

/** A yes/no with the lines git shows the pusher as `remote: ...`. */
export interface HookVerdict {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/** Reads a commit of the push in progress (its objects are still quarantined). */
export type ReadPushedTree = (rev: string) => Promise<TreeSnapshot>;

export interface HookServerOptions {
  readonly repo: GitRepo;
  /** Default `<stateDir>/run/hooks.sock`, i.e. next to the repo folder. */
  readonly socketPath?: string;
  /** Decides on a push to main or to a preview ref (after the ref policy passed); typically validatePushedTree. */
  readonly onPreReceive: (update: RefUpdate, readTree: ReadPushedTree) => Promise<HookVerdict>;
  /** Records each push the hooks decide on, under the name of the token that pushed. */
  readonly audit?: (entry: AuditEntry) => Promise<unknown>;
  /** Called once main has moved; returned lines are shown to the pusher. */
  readonly onPostReceive: (update: RefUpdate) => Promise<readonly string[] | void> | readonly string[] | void;
  /** Called once a preview ref (refs/heads/preview/<name>) has moved; returned lines are shown to the pusher. */
  readonly onPreviewReceived?: (update: RefUpdate, name: string) => Promise<readonly string[]>;
  readonly log?: Logger;
  /** The node binary the hooks run with; default this process's. */
  readonly nodePath?: string;
}

// sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH = 107;
const MAX_REQUEST_BYTES = 1024 * 1024;
const SHA = /^[0-9a-f]{40}$/;

function isInside(path: string, dir: string): boolean {
  const p = resolve(path);
  return p === dir || p.startsWith(dir + sep);
}

export class HookServer {
  readonly socketPath: string;
  private readonly log: Logger;
  private server: Server | null = null;

  constructor(private readonly options: HookServerOptions) {
    this.socketPath = options.socketPath ?? join(dirname(options.repo.root), "run", "hooks.sock");
    this.log = options.log ?? silentLogger();
  }

  /** Listens on the socket (0600, in a 0700 folder) and (re)installs the hooks that talk to it. */
  async start(): Promise<void> {
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH) {
      throw new NkError("CONFIG_INVALID", `hook socket path ${this.socketPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter state directory`);
    }
    await mkdir(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.socketPath), 0o700);
    // Left behind by a coordinator that did not shut down cleanly (the state dir lock rules out a live one).
    await rm(this.socketPath, { force: true });
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(this.socketPath, () => {
        server.off("error", fail);
        ok();
      });
    });
    this.server = server;
    await chmod(this.socketPath, 0o600);
    await installHooks(this.options.repo.hooksDir, this.socketPath, this.options.nodePath);
    this.log.info({ socket: this.socketPath }, "git hook server listening");
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(this.socketPath, { force: true });
  }

  private serve(socket: Socket): void {
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("error", (err) => this.log.warn({ err: errorMessage(err) }, "git hook connection failed"));
    socket.on("data", (chunk: string) => {
      if (buffered.includes("\n")) return;
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const eol = buffered.indexOf("\n");
      if (eol < 0) return;
      void this.answer(buffered.slice(0, eol)).then((res) => socket.end(`${JSON.stringify(res)}\n`));
    });
  }

  private async answer(text: string): Promise<HookResponse> {
    let req: HookRequest;
    try {
      req = JSON.parse(text) as HookRequest;
      if (!Array.isArray(req.refs) || typeof req.env !== "object" || req.env === null) throw new Error("bad shape");
    } catch {
      return { code: 1, lines: ["nk: malformed hook request"] };
    }
    const updates = req.refs.map((r) => ({ oldSha: String(r.old), newSha: String(r.new), ref: String(r.ref) }));
    try {
      if (req.hook === "pre-receive") return await this.preReceive(updates, req.env);
      if (req.hook === "post-receive") return await this.postReceive(updates.map((u) => withPusher(u, req.env.REMOTE_USER)));
      return { code: 1, lines: [`nk: unknown hook ${JSON.stringify(req.hook)}`] };
    } catch (err) {
      this.log.error({ err: errorMessage(err), hook: req.hook }, "git hook failed");
      return { code: 1, lines: [`nk: internal error in the coordinator: ${errorMessage(err)}`] };
    }
  }

  private async preReceive(updates: readonly RefUpdate[], env: Readonly<Record<string, string>>): Promise<HookResponse> {
    const actor = tokenName(env.NK_TOKEN_NAME);
    const refused = updates.flatMap((u) => refPolicy(u));
    if (refused.length > 0) {
      for (const u of updates) await this.audit(actor, u, false, refPolicy(u)[0] ?? "another ref of the push was refused");
      return { code: 1, lines: [...refused, "nk: rejected (nothing was changed)"] };
    }
    const quarantine = this.quarantineEnv(env);
    const { repo } = this.options;
    // Runs before git locks the refs it updates, so a lock left by a crash no longer refuses every push.
    const stale = await repo.removeStaleLocks();
    if (stale.length > 0) this.log.warn({ removed: stale }, STALE_LOCKS_REMOVED);
    const lines: string[] = [];
    let ok = true;
    for (const update of updates) {
      const verdict = await this.options.onPreReceive(update, (rev) => repo.readSnapshot(rev, quarantine));
      lines.push(...verdict.lines);
      ok &&= verdict.ok;
      await this.audit(actor, update, verdict.ok, verdict.lines[0] ?? "validation failed");
      this.log.info({ ref: update.ref, rev: update.newSha, ok: verdict.ok }, verdict.ok ? "push validated" : "push rejected");
    }
    return { code: ok ? 0 : 1, lines };
  }

  private async postReceive(updates: readonly RefUpdate[]): Promise<HookResponse> {
    const lines: string[] = [];
    for (const update of updates) {
      if (update.newSha === ZERO_SHA) continue;
      const preview = previewNameOf(update.ref);
      if (preview !== null && this.options.onPreviewReceived) lines.push(...(await this.options.onPreviewReceived(update, preview)));
      if (update.ref === MAIN_REF) lines.push(...((await this.options.onPostReceive(update)) ?? []));
    }
    return { code: 0, lines };
  }

  /** The audit line of one ref update: accepted (validated) or refused with the first reason. */
  private async audit(actor: string, update: RefUpdate, ok: boolean, reason: string): Promise<void> {
    const entry = { actor, action: "push", target: `${update.ref} ${update.newSha.slice(0, 12)}`, outcome: ok ? "accepted" : `refused: ${reason.replace(/^nk: /, "")}` };
    await this.options.audit?.(entry).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "audit line not stored"));
  }

  /** Only object directories inside this repo are accepted: the socket must not become a way to read other repos. */
  private quarantineEnv(env: Readonly<Record<string, string>>): QuarantineEnv {
    const objects = join(this.options.repo.gitDir, "objects");
    const out: Record<string, string> = {};
    for (const key of ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"] as const) {
      const value = env[key];
      if (typeof value !== "string" || !value) continue;
      if (!value.split(":").every((p) => isInside(p, objects))) throw new NkError("PERMISSION_DENIED", `${key} points outside the inventory repo`);
      out[key] = value;
    }
    return out;
  }
}

/** Only a plain name goes into the journal (git-http already restricts REMOTE_USER to these characters). */
function withPusher(update: RefUpdate, remoteUser: unknown): RefUpdate {
  return typeof remoteUser === "string" && /^[\w.@-]{1,64}$/.test(remoteUser) ? { ...update, pusher: remoteUser } : update;
}

/** The pushing token's name as the git endpoint set it; "unknown" for a push that did not come through it. */
function tokenName(value: unknown): string {
  return typeof value === "string" && /^[a-z0-9][a-z0-9._-]{0,62}$/.test(value) ? value : "unknown";
}

export const PREVIEW_REF_PREFIX = "refs/heads/preview/";

/** `refs/heads/preview/<name>` → name; null for any other ref. */
export function previewNameOf(ref: string): string | null {
  return ref.startsWith(PREVIEW_REF_PREFIX) ? ref.slice(PREVIEW_REF_PREFIX.length) : null;
}

/**
 * Why this ref update is refused, if it is: only updates of main (never its deletion) and of preview refs, which are
 * validated the same way but never become desired (and are deleted with nkctl plan delete).
 */
export function refPolicy(update: RefUpdate): string[] {
  if (!SHA.test(update.oldSha) || !SHA.test(update.newSha)) return [`nk: ${update.ref}: malformed update`];
  const preview = previewNameOf(update.ref);
  if (preview !== null) {
    if (!isPreviewName(preview)) return [`nk: ${update.ref}: invalid preview name "${preview}": ${PREVIEW_NAME_RULE}`];
    if (update.newSha === ZERO_SHA) return [`nk: ${update.ref}: delete a preview with: nkctl plan delete ${preview}`];
    return [];
  }
  if (update.ref !== MAIN_REF) return [`nk: ${update.ref}: only ${MAIN_REF} and ${PREVIEW_REF_PREFIX}<name> can be pushed (push to main instead)`];
  if (update.newSha === ZERO_SHA) return [`nk: ${MAIN_REF}: deleting main is not allowed`];
  return [];
}

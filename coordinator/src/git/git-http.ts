// Fastify plugin serving the inventory repo over git's smart HTTP protocol through git-http-backend (CGI).
import { verdictOf, type AccessVerdict, type AuditEntry, type Role } from "../auth/index.js";
import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { CgiHeadParser, type CgiHead } from "./cgi-response.js";
import { gitBaseEnv } from "./git-exec.js";
import { GIT_AUTH_REALM, presentedCredentials } from "./git-auth.js";
import type { GitRepo } from "./git-repo.js";

export interface GitHttpOptions {
  readonly repo: GitRepo;
  /** Clone and fetch need "viewer", a push "operator"; a bare boolean stands for any valid token. */
  readonly authenticate: (req: FastifyRequest, need: Role) => boolean | AccessVerdict | Promise<AccessVerdict>;
  /** Records a push refused here (role too low); the hooks record the pushes that reach them. */
  readonly audit?: (entry: AuditEntry) => Promise<unknown>;
  /** Largest accepted push body; default 256 MiB. Larger → 413. */
  readonly maxPushBytes?: number;
  /** False in upstream-follow mode: the repo is then read-only over HTTP. Default true. */
  readonly allowPush?: boolean;
  /** Default: the request's logger. */
  readonly log?: Logger;
  /** Default /usr/lib/git-core/git-http-backend. */
  readonly backendPath?: string;
}

export const DEFAULT_MAX_PUSH_BYTES = 256 * 1024 * 1024;
const DEFAULT_BACKEND = "/usr/lib/git-core/git-http-backend";
const REPO_PATH = "/inventory.git";
const SERVICES = new Set(["git-upload-pack", "git-receive-pack"]);
// Output the backend may produce before the request body is read through (normally none).
const EARLY_OUTPUT_BYTES = 4 * 1024 * 1024;
/** The token's name, handed to the hooks (see hook-script) so pushes are audited under it. */
export const TOKEN_NAME_ENV = "NK_TOKEN_NAME";

class TooLarge extends Error {}

/** Passes bytes through and fails once more than `limit` have gone by. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new TooLarge(`request body larger than ${this.limit} bytes`));
    else done(null, chunk);
  }
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-cache").send(`${message}\n`);
}

/**
 * Register with `app.register(gitHttpPlugin, { prefix: "/git", repo, authenticate })` to serve
 * `/git/inventory.git/{info/refs,git-upload-pack,git-receive-pack}`. Only these smart-protocol
 * paths exist (no dumb HTTP, no path from the URL reaches git); request and response bodies stream.
 */
export const gitHttpPlugin: FastifyPluginAsync<GitHttpOptions> = async (app, options) => {
  const maxPushBytes = options.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES;
  const allowPush = options.allowPush ?? true;

  // Scoped to this plugin: git's request bodies reach the handler as the raw (possibly gzipped) stream.
  app.addContentTypeParser(/^application\/x-git-[a-z-]+-request$/, (_req, payload, done) => done(null, payload));

  /** Who each authenticated request is: its token's name goes to the hooks, never the token. */
  const principals = new WeakMap<FastifyRequest, string>();

  app.addHook("onRequest", async (req, reply) => {
    // info/refs?service=git-receive-pack starts a push as surely as the POST that follows.
    const pushing = req.url.includes("git-receive-pack");
    const verdict = verdictOf(await options.authenticate(req, pushing ? "operator" : "viewer"));
    if (verdict.ok) return void principals.set(req, verdict.principal.name);
    if (pushing && verdict.actor) {
      const log: FastifyBaseLogger = options.log ?? req.log;
      await options.audit?.({ actor: verdict.actor, action: "push", target: "", outcome: `refused: ${verdict.message}` }).catch((err: unknown) => log.error({ err: errorMessage(err) }, "audit line not stored"));
    }
    if (verdict.status === 403) return reply.code(403).header("content-type", "text/plain; charset=utf-8").send(`${verdict.message}\n`);
    return reply
      .code(401)
      .header("www-authenticate", `Basic realm="${GIT_AUTH_REALM}", charset="UTF-8"`)
      .header("content-type", "text/plain; charset=utf-8")
      .send("authentication required: the admin token as password (any user name) or as a Bearer token\n");
  });

  const hooksInstalled = (): Promise<boolean> => access(join(options.repo.hooksDir, "pre-receive"), constants.X_OK).then(() => true, () => false);

  const run = async (req: FastifyRequest, reply: FastifyReply, service: string, pathInfo: string, body: Readable | null): Promise<unknown> => {
    const log: FastifyBaseLogger = options.log ?? req.log;
    if (!SERVICES.has(service)) return sendError(reply, 403, `unsupported service ${JSON.stringify(service)}`);
    if (service === "git-receive-pack" && !allowPush) return sendError(reply, 403, "this coordinator follows an upstream repo: push there instead");
    // Fail closed: without the hooks (HookServer not started) a push would skip validation.
    if (service === "git-receive-pack" && !(await hooksInstalled())) return sendError(reply, 503, "push validation is not running on this coordinator");
    const declared = Number(req.headers["content-length"] ?? -1);
    if (body && service === "git-receive-pack" && declared > maxPushBytes) {
      return sendError(reply.header("connection", "close"), 413, `push larger than ${maxPushBytes} bytes`);
    }
    return runBackend(req, reply, { service, pathInfo, body, log });
  };

  const runBackend = (req: FastifyRequest, reply: FastifyReply, call: { service: string; pathInfo: string; body: Readable | null; log: FastifyBaseLogger }): Promise<unknown> => {
    const { service, pathInfo, body, log } = call;
    const user = (presentedCredentials(req.headers)?.user ?? "").replace(/[^\w.@-]/g, "").slice(0, 64) || "nk-admin";
    const env = gitBaseEnv({
      GIT_PROJECT_ROOT: options.repo.root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: pathInfo,
      QUERY_STRING: req.method === "GET" ? `service=${service}` : "",
      REQUEST_METHOD: req.method,
      REMOTE_USER: user,
      REMOTE_ADDR: req.ip,
      [TOKEN_NAME_ENV]: principals.get(req) ?? "",
      // A second guard behind the byte counter: index-pack itself refuses a larger pack.
      ...(service === "git-receive-pack" ? { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "receive.maxInputSize", GIT_CONFIG_VALUE_0: String(maxPushBytes) } : {}),
    });
    const header = (name: string, cgi: string): void => {
      const value = req.headers[name];
      if (typeof value === "string" && value) env[cgi] = value;
    };
    header("content-type", "CONTENT_TYPE");
    // No CONTENT_LENGTH: given one, git's http-backend (2.39) loops for ever on a stdin that closed early, so a
    // coordinator that dies mid-push would leave it spinning. Without it the services read the pipe themselves (as
    // for a chunked request), and a cut-off push ends at EOF. The byte counter below still enforces the limit.
    header("content-encoding", "HTTP_CONTENT_ENCODING");
    header("git-protocol", "GIT_PROTOCOL");

    // Its own process group, so that a kill also stops the receive-pack/index-pack it started.
    const child = spawn(options.backendPath ?? DEFAULT_BACKEND, [], { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    const killGroup = (): void => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      if (stderr.length < 16_000) stderr += s;
    });
    child.on("close", (code, signal) => {
      if (code !== 0 && !signal) log.warn({ service, code, stderr: stderr.trim().slice(-2000) }, "git-http-backend failed");
    });
    child.stdin.on("error", () => undefined);
    // A client that goes away mid-request should not leave a receive-pack behind.
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) killGroup();
    });

    const bodyDone = new Promise<void>((resolveBody, rejectBody) => {
      if (!body) {
        child.stdin.end();
        resolveBody();
        return;
      }
      const limit = service === "git-receive-pack" ? maxPushBytes : Number.MAX_SAFE_INTEGER;
      const counter = new ByteLimit(limit);
      counter.on("error", (err) => {
        body.unpipe(counter);
        child.stdin.destroy();
        rejectBody(err);
      });
      body.on("error", rejectBody);
      // Every byte has passed the limit. Not stdin's "finish": git may read all it needs and exit
      // first, and node then destroys stdin without emitting it.
      counter.on("end", () => resolveBody());
      // The backend stopped reading early (e.g. it answered with an error): answer now.
      child.stdin.on("close", () => resolveBody());
      body.pipe(counter).pipe(child.stdin);
    });
    // The body stream is attached as soon as the head is parsed (before stdout can end); its buffer
    // holds what the backend writes while the request body is still arriving.
    const out = new PassThrough({ highWaterMark: EARLY_OUTPUT_BYTES });
    const head = new Promise<CgiHead>((resolveHead, rejectHead) => {
      const parser = new CgiHeadParser();
      const onData = (chunk: Buffer): void => {
        try {
          const parsed = parser.push(chunk);
          if (!parsed) return;
          child.stdout.off("data", onData);
          out.write(parsed.rest);
          child.stdout.pipe(out);
          resolveHead(parsed);
        } catch (err) {
          rejectHead(err);
        }
      };
      child.stdout.on("data", onData);
      child.on("error", rejectHead);
      child.on("close", (code) => rejectHead(new Error(`git-http-backend exited (${code}) before sending headers: ${stderr.trim().slice(-500)}`)));
    });

    // Headers go out only once the request body is through, so that a push over the limit can still get a 413.
    return Promise.all([head, bodyDone]).then(
      ([cgi]) => reply.code(cgi.status).headers(cgi.headers).send(out),
      (err: unknown) => {
        killGroup();
        out.destroy();
        if (err instanceof TooLarge) {
          log.warn({ service, limit: maxPushBytes }, "push refused: too large");
          return sendError(reply.header("connection", "close"), 413, `push larger than ${maxPushBytes} bytes`);
        }
        log.error({ service, err: errorMessage(err) }, "git request failed");
        return reply.sent ? reply : sendError(reply, 500, "git backend failed");
      },
    );
  };

  app.get<{ Querystring: { service?: string } }>(`${REPO_PATH}/info/refs`, (req, reply) => {
    const service = req.query.service;
    if (typeof service !== "string") return sendError(reply, 400, "the dumb HTTP protocol is not supported: use git 1.6.6 or later");
    return run(req, reply, service, `${REPO_PATH}/info/refs`, null);
  });
  for (const service of SERVICES) {
    app.post(`${REPO_PATH}/${service}`, (req, reply) => {
      const expected = `application/x-${service}-request`;
      if (req.headers["content-type"] !== expected) return sendError(reply, 415, `expected Content-Type ${expected}`);
      return run(req, reply, service, `${REPO_PATH}/${service}`, req.body as Readable);
    });
  }
};

/** git-http-backend sits in git's exec path, which differs between distributions (and NixOS). */
export async function gitHttpBackendPath(): Promise<string> {
  const { execFile } = await import("node:child_process");
  const execPath = await new Promise<string>((resolve) => execFile("git", ["--exec-path"], (err, stdout) => resolve(err ? "" : stdout.trim())));
  return execPath ? `${execPath}/git-http-backend` : DEFAULT_BACKEND;
}

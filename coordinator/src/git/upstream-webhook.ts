// Fastify plugin for `POST /hooks/git`: an upstream forge (or an operator) asks the follower to fetch now.
import { verdictOf, type AccessVerdict, type Role } from "../auth/index.js";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { constantTimeEqual } from "./git-auth.js";

export interface UpstreamWebhookOptions {
  /** Usually an UpstreamFollower; the sync runs after the answer (forges time out quickly). */
  readonly follower: { sync(): Promise<unknown> };
  /** Shared webhook secret: GitHub/Gitea `X-Hub-Signature-256` HMAC or GitLab `X-Gitlab-Token`. */
  readonly secret?: string | (() => string | undefined);
  /** Also accepted instead of a signature, e.g. adminTokenAuthenticator(adminToken). */
  readonly authenticate?: (req: FastifyRequest, need: Role) => boolean | AccessVerdict | Promise<AccessVerdict>;
  /** Default "/hooks/git". */
  readonly path?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Checks `sha256=<hex>` against the HMAC-SHA256 of the raw body, in constant time. */
export function verifyHubSignature(secret: string, body: Buffer, header: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  const expected = createHmac("sha256", secret).update(body).digest();
  const presented = m ? Buffer.from(m[1]!, "hex") : Buffer.alloc(expected.length);
  return timingSafeEqual(expected, presented) && m !== null && secret.length > 0;
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
}

export const upstreamWebhookPlugin: FastifyPluginAsync<UpstreamWebhookOptions> = async (app, options) => {
  // Scoped to this plugin: the signature covers the exact bytes sent, so the body stays raw.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  app.post(options.path ?? "/hooks/git", async (req, reply) => {
    const secret = typeof options.secret === "function" ? options.secret() : options.secret;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = headerValue(req, "x-hub-signature-256");
    const gitlabToken = headerValue(req, "x-gitlab-token");
    let ok = false;
    if (secret && signature !== undefined) ok = verifyHubSignature(secret, body, signature);
    else if (secret && gitlabToken !== undefined) ok = constantTimeEqual(secret, gitlabToken);
    else ok = options.authenticate ? verdictOf(await options.authenticate(req, "operator")).ok : false;
    if (!ok) {
      req.log.warn({ event: headerValue(req, "x-github-event") }, "git webhook refused: bad or missing signature");
      return reply.code(401).send({ error: "a valid X-Hub-Signature-256, X-Gitlab-Token or admin token is required" });
    }
    void options.follower.sync();
    return reply.code(202).send({ status: "sync started" });
  });
};

// Admin-token checks for the git endpoints: HTTP Basic (any user, password = token) or Bearer, in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The realm git shows when it asks for credentials. */
export const GIT_AUTH_REALM = "nk";

/** Equal-length digests, so neither the content nor the length of the secret leaks through timing. */
export function constantTimeEqual(expected: string, presented: string): boolean {
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(a, b);
}

export interface PresentedCredentials {
  readonly user: string;
  readonly token: string;
}

/** The token in `Authorization: Bearer <t>` or the password of `Authorization: Basic`, if any. */
export function presentedCredentials(headers: IncomingHttpHeaders): PresentedCredentials | null {
  const auth = headers.authorization;
  if (typeof auth !== "string") return null;
  const m = /^(\w+) +(\S+)\s*$/.exec(auth);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === "bearer") return { user: "token", token: m[2]! };
  if (scheme !== "basic") return null;
  const decoded = Buffer.from(m[2]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

/** An `authenticate` for gitHttpPlugin that accepts the admin token (read on each call, so it may rotate). */
export function adminTokenAuthenticator(adminToken: string | (() => string)): (req: { headers: IncomingHttpHeaders }) => boolean {
  return (req) => {
    const presented = presentedCredentials(req.headers);
    const expected = typeof adminToken === "function" ? adminToken() : adminToken;
    // Compare even when nothing was presented, so that both paths take the same time.
    const match = constantTimeEqual(expected, presented?.token ?? "");
    return presented !== null && expected.length > 0 && match;
  };
}

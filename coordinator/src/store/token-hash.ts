// Per-node and admin bearer tokens: 256 random bits, stored only as "sha256:<hex>", compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "sha256:";
// Compared against when a node is unknown, so both paths do the same work.
const DUMMY_DIGEST = Buffer.alloc(32);

/** A fresh 256-bit token, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** High-entropy tokens need no slow KDF: a plain sha256 cannot be brute-forced. */
export function hashToken(token: string): string {
  return PREFIX + createHash("sha256").update(token, "utf8").digest("hex");
}

function digestOf(tokenHash: string | undefined): Buffer {
  if (!tokenHash?.startsWith(PREFIX)) return DUMMY_DIGEST;
  const digest = Buffer.from(tokenHash.slice(PREFIX.length), "hex");
  return digest.length === 32 ? digest : DUMMY_DIGEST;
}

/** True iff `token` hashes to `tokenHash`; an absent or malformed hash never matches. */
export function verifyToken(tokenHash: string | undefined, token: string): boolean {
  const expected = digestOf(tokenHash);
  const presented = createHash("sha256").update(token, "utf8").digest();
  return timingSafeEqual(expected, presented) && expected !== DUMMY_DIGEST;
}

/** Constant-time comparison of two plain tokens (e.g. the admin token). */
export function tokensEqual(expected: string, presented: string): boolean {
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(a, b);
}

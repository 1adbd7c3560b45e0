// Admin-token checks for git over HTTP and webhook signatures.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { adminTokenAuthenticator, constantTimeEqual, presentedCredentials } from "./git-auth.js";
import { verifyHubSignature } from "./upstream-webhook.js";

const TOKEN = "t".repeat(43);
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("adminTokenAuthenticator", () => {
  const auth = adminTokenAuthenticator(TOKEN);

  it("accepts the token as Basic password with any user, or as Bearer", () => {
    expect(auth({ headers: { authorization: basic("alice", TOKEN) } })).toBe(true);
    expect(auth({ headers: { authorization: basic("", TOKEN) } })).toBe(true);
    expect(auth({ headers: { authorization: `Bearer ${TOKEN}` } })).toBe(true);
    expect(auth({ headers: { authorization: `bearer ${TOKEN}` } })).toBe(true);
  });

  it("refuses a missing, wrong or malformed credential", () => {
    expect(auth({ headers: {} })).toBe(false);
    expect(auth({ headers: { authorization: basic("alice", "wrong") } })).toBe(false);
    expect(auth({ headers: { authorization: basic(TOKEN, "") } })).toBe(false);
    expect(auth({ headers: { authorization: `Bearer ${TOKEN}x` } })).toBe(false);
    expect(auth({ headers: { authorization: `Digest ${TOKEN}` } })).toBe(false);
    expect(auth({ headers: { authorization: `Basic ${Buffer.from(TOKEN).toString("base64")}` } })).toBe(false);
    expect(adminTokenAuthenticator("")({ headers: { authorization: "Bearer " } })).toBe(false);
  });

  it("reads the token on each call, so a rotated token takes effect", () => {
    let current = TOKEN;
    const rotating = adminTokenAuthenticator(() => current);
    current = "u".repeat(43);
    expect(rotating({ headers: { authorization: `Bearer ${TOKEN}` } })).toBe(false);
    expect(rotating({ headers: { authorization: `Bearer ${current}` } })).toBe(true);
  });

  it("parses credentials and compares whatever their lengths", () => {
    expect(presentedCredentials({ authorization: basic("bob", "p:w") })).toEqual({ user: "bob", token: "p:w" });
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("abc", "abc")).toBe(true);
  });
});

describe("verifyHubSignature", () => {
  it("checks sha256=<hex> HMAC of the raw body", () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const good = `sha256=${createHmac("sha256", "s3cret").update(body).digest("hex")}`;
    expect(verifyHubSignature("s3cret", body, good)).toBe(true);
    expect(verifyHubSignature("other", body, good)).toBe(false);
    expect(verifyHubSignature("s3cret", Buffer.from("{}"), good)).toBe(false);
    expect(verifyHubSignature("s3cret", body, "sha1=abc")).toBe(false);
    expect(verifyHubSignature("s3cret", body, "")).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { NkError } from "../../../shared/src/errors/index.js";
import { TokenBook, TOKENS_SECRET, type TokenSecrets } from "./token-book.js";

/** A secret area that can be cut off, as an etcd outage cuts off the etcd store. */
function secretArea(): TokenSecrets & { down: boolean; raw: Map<string, Buffer> } {
  const raw = new Map<string, Buffer>();
  const area = {
    down: false,
    raw,
    async getSecret(name: string) {
      if (area.down) throw new NkError("UNAVAILABLE", "store unavailable");
      return raw.get(name);
    },
    async setSecret(name: string, value: Buffer) {
      if (area.down) throw new NkError("UNAVAILABLE", "store unavailable");
      raw.set(name, value);
    },
  };
  return area;
}

describe("TokenBook", () => {
  it("identifies created tokens by role, keeps only hashes, and refuses a revoked one at once", async () => {
    const area = secretArea();
    const book = new TokenBook(area, () => "bootstrap-admin-token", () => 1_000);
    const { record, token } = await book.create("ci", "operator");
    expect(record).toMatchObject({ name: "ci", role: "operator", createdAtMs: 1_000 });
    expect(area.raw.get(TOKENS_SECRET)!.toString()).not.toContain(token);
    expect(await book.identify(token)).toEqual({ name: "ci", role: "operator" });
    expect(await book.identify("bootstrap-admin-token")).toEqual({ name: "admin", role: "admin" });
    expect(await book.identify("nope")).toBeNull();
    expect(await book.identify("")).toBeNull();
    expect(await book.revoke("ci")).toBe(true);
    expect(await book.identify(token)).toBeNull();
    expect(await book.revoke("ci")).toBe(false);
  });

  it("lets the bootstrap admin token through a store outage while scoped tokens fail closed", async () => {
    const area = secretArea();
    const book = new TokenBook(area, () => "bootstrap-admin-token");
    const { token } = await book.create("viewer-1", "viewer");
    area.down = true;
    expect(await book.identify("bootstrap-admin-token")).toEqual({ name: "admin", role: "admin" });
    await expect(book.identify(token)).rejects.toThrow("store unavailable");
  });

  it("refuses bad names, the bootstrap name, unknown roles and duplicates with the fix", async () => {
    const book = new TokenBook(secretArea(), () => "x");
    await expect(book.create("Bad Name", "viewer")).rejects.toThrow(/not a valid token name/);
    await expect(book.create("admin", "viewer")).rejects.toThrow(/bootstrap admin token/);
    await expect(book.create("ok", "root")).rejects.toThrow(/"root" is not a role: use viewer, operator, admin, fleetlock/);
    await book.create("ok", "viewer");
    await expect(book.create("ok", "viewer")).rejects.toThrow(/revoke it first/);
  });
});

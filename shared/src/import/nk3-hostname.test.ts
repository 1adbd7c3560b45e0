// Checks the uuid5 derivation against values computed with Python's uuid module (what nk3 used).
import { describe, expect, it } from "vitest";
import { NAMESPACE_OID, nk3Hostname, uuid5 } from "./nk3-hostname.js";

describe("nk3Hostname", () => {
  // python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, "<ip>"))'
  it.each([
    ["172.30.190.3", "d6c27852-4d1c-5830-8e94-40b76fa2b5ec"],
    ["172.30.190.4", "a9bcde5e-240d-54ad-8590-d8e18b7ee42f"],
    ["172.30.190.5", "b0d1dcf2-588a-5740-b321-5c9ca8d6b9b0"],
    ["172.30.190.6", "5628c29c-a726-534a-8048-92ba49ab3db3"],
    ["10.0.0.1", "b55416a9-f3fc-59d5-b5f8-d40f13e815a1"],
    ["192.168.1.10", "95ba1a5c-8c3a-525b-9c4c-d7a43bbf5a47"],
  ])("%s → %s", (ip, expected) => {
    expect(nk3Hostname(ip)).toBe(expected);
  });

  it("gives a valid DNS label (node names must be)", () => {
    const name = nk3Hostname("172.30.190.3");
    expect(name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(name).toHaveLength(36);
  });

  it("is uuid5 of the IP text in the OID namespace", () => {
    expect(NAMESPACE_OID).toBe("6ba7b812-9dad-11d1-80b4-00c04fd430c8");
    expect(nk3Hostname("10.0.100.2")).toBe(uuid5(NAMESPACE_OID, "10.0.100.2"));
    expect(nk3Hostname("10.0.100.2")).toBe("03b9aca5-7fa7-5963-9222-34e59d4da158");
  });
});

describe("uuid5", () => {
  it("matches the RFC 4122 / Python vector for the DNS namespace", () => {
    // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
    expect(uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
  });

  it("sets version 5 and the RFC 4122 variant", () => {
    const id = uuid5(NAMESPACE_OID, "anything");
    expect(id[14]).toBe("5");
    expect("89ab").toContain(id[19]);
  });

  it("rejects a namespace that is not a UUID", () => {
    expect(() => uuid5("not-a-uuid", "x")).toThrow("namespace is not a UUID: not-a-uuid");
  });
});

// splitHostPort and localHttpUrl over the listen forms the config accepts.
import { describe, expect, it } from "vitest";
import { localHttpUrl, splitHostPort } from "./listen-address.js";

describe("splitHostPort", () => {
  it.each([
    ["127.0.0.1:7080", "127.0.0.1", 7080],
    ["[::1]:0", "::1", 0],
    ["0.0.0.0:443", "0.0.0.0", 443],
    [":7080", "", 7080],
  ])("%s", (address, host, port) => {
    expect(splitHostPort(address)).toEqual({ host, port });
  });
});

describe("localHttpUrl", () => {
  it("uses loopback for the wildcard addresses", () => {
    expect(localHttpUrl("0.0.0.0", 7080, false)).toBe("https://127.0.0.1:7080");
    expect(localHttpUrl("::", 7080, true)).toBe("http://127.0.0.1:7080");
    expect(localHttpUrl("", 1, false)).toBe("https://127.0.0.1:1");
  });

  it("keeps a named host and brackets IPv6", () => {
    expect(localHttpUrl("10.0.0.5", 7080, false)).toBe("https://10.0.0.5:7080");
    expect(localHttpUrl("::1", 7080, false)).toBe("https://[::1]:7080");
  });
});

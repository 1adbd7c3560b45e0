import { describe, expect, it } from "vitest";
import { HOST_PORT, LISTEN_HOST_PORT } from "./host-port.js";

describe("host:port", () => {
  it("takes names, IPv4 and bracketed IPv6 with a port that exists", () => {
    for (const ok of ["coordinator.lan:7443", "127.0.0.1:1", "[::1]:65535", "10.0.0.1:65000", "a:9"]) expect(HOST_PORT.test(ok), ok).toBe(true);
    for (const bad of ["coord.lan:07443", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:70000", "127.0.0.1:07443", "http://c:7443", "c", "::1:7443", "c:"]) expect(HOST_PORT.test(bad), bad).toBe(false);
  });

  it("lets a listen address ask for any free port (0)", () => {
    expect(LISTEN_HOST_PORT.test("127.0.0.1:0")).toBe(true);
    expect(LISTEN_HOST_PORT.test("0.0.0.0:7443")).toBe(true);
    expect(LISTEN_HOST_PORT.test("0.0.0.0:70000")).toBe(false);
  });
});

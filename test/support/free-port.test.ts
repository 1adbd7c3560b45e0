// freePort: ports below the range outgoing connections take their source ports from, free when handed out.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { expect, it } from "vitest";
import { freePort } from "./free-port.js";

const [ephemeralFrom] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);

it("hands out ports below the ephemeral range that a server can bind", async () => {
  for (let i = 0; i < 8; i++) {
    const port = await freePort();
    if (ephemeralFrom! - 10_000 >= 1_000) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralFrom!);
    }
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
  }
});

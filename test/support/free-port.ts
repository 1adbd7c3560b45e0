// Loopback ports for servers that tests start as processes and start again on the same port (a coordinator after
// kill -9, an etcd member).
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port picked: above the usual fixed service ports. */
const LOWEST = 10_000;

/**
 * Where outgoing connections draw their source ports from (Linux: ip_local_port_range, 32768–60999 by default).
 * A port picked there can be taken by any client's connection before the server binds it, or between a kill -9 and
 * its restart: an HA chaos worker lost its coordinator that way (EADDRINUSE) while the other worker's clients ran.
 */
function ephemeralRange(): { from: number; to: number } | null {
  try {
    const [from, to] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return from !== undefined && to !== undefined && from > 0 ? { from, to } : null;
  } catch {
    return null;
  }
}

const below = ((): number | null => {
  const range = ephemeralRange();
  return range !== null && range.from - LOWEST >= 1_000 ? range.from : null;
})();

function canListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A port free a moment ago on 127.0.0.1, below the ephemeral range when the system leaves room for that (chosen at
 * random, so that concurrent test processes rarely try the same one); otherwise one the kernel picks.
 */
export async function freePort(): Promise<number> {
  if (below !== null) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await canListen(randomInt(LOWEST, below));
      if (port !== null) return port;
    }
  }
  const port = await canListen(0);
  if (port === null) throw new Error("no free loopback port");
  return port;
}

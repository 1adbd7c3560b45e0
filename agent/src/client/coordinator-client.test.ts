// CoordinatorClient's failover and stream-start guard against a loopback server that accepts connections and never answers.
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CoordinatorClient } from "./coordinator-client.js";

// Any PEM parses as a CA here: the handshake never gets far enough to check it.
const CA = `-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUEXAMPLEEXAMPLEEXAMPLEEXAMPLEwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
`;

const HELLO = { agentVersion: "0", bootId: "b", bootedSystem: "", currentSystem: "", appliedRevision: "", appliedSha256: "", phase: 0, heldFencingToken: 0, systemInfo: undefined };

let server: Server | undefined;
const held: Socket[] = [];
afterEach(async () => {
  for (const s of held.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Accepts TCP and holds it silent, as a coordinator that died mid-handshake or a black-holing middlebox. */
async function silentServer(): Promise<{ port: number; accepted: () => number; reached: (n: number) => Promise<void> }> {
  let accepted = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  server = createServer((socket) => {
    accepted++;
    held.push(socket);
    for (const w of waiters.filter((w) => accepted >= w.n)) w.resolve();
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
  // On a loaded machine the server may see a connection after the client's call already gave up: wait for it.
  const reached = (n: number) => (accepted >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));
  return { port: (server.address() as { port: number }).port, accepted: () => accepted, reached };
}

describe("CoordinatorClient", () => {
  it("replaces a channel that never connected on failover, so the next call tries a new connection", async () => {
    const { port, accepted, reached } = await silentServer();
    const client = new CoordinatorClient({ addresses: [`127.0.0.1:${port}`], node: "n1", token: "t", ca: CA, callTimeoutMs: 300 });
    try {
      await expect(client.hello(HELLO)).rejects.toMatchObject({ code: 4 });
      await reached(1);
      // Stuck in CONNECTING on the silent socket: without a new channel nothing would ever dial again.
      client.failover();
      await expect(client.hello(HELLO)).rejects.toMatchObject({ code: 4 });
      await reached(2);
      expect(accepted()).toBe(2);
    } finally {
      client.close();
    }
  });

  it("ends a stream still waiting for its connection after streamStartMs with UNAVAILABLE, on a fresh channel", async () => {
    const { port, accepted, reached } = await silentServer();
    const client = new CoordinatorClient({ addresses: [`127.0.0.1:${port}`], node: "n1", token: "t", ca: CA, streamStartMs: 200 });
    try {
      // A lease stream has no deadline: on a channel that never connects it would wait for good.
      const stream = client.acquireLease({ kind: 1, revision: "r", bundleSha256: "s", reason: "test", fencingToken: 0, k3sNext: "" });
      const ended = await new Promise<{ code: number; details: string }>((resolve) => stream.on("error", (err) => resolve(err)));
      expect(ended.code).toBe(14);
      expect(ended.details).toContain("Channel closed before call started");
      await reached(1);
      // The next stream dials a new connection.
      const again = client.watchCheckRequests();
      await new Promise<void>((resolve) => again.on("error", () => resolve()));
      await reached(2);
      expect(accepted()).toBe(2);
    } finally {
      client.close();
    }
  });
});

// Child process of the kill -9 test: writes through a FileStore forever, printing each write once acknowledged.
import { FileStore } from "./file-store.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: crash-writer <state dir>");
const store = await FileStore.open({ dir, clock: Date.now });
await store.enrollNode("n1");
// Pipes to stdout are written synchronously on Linux, so a printed line was really sent.
const ack = (line: string): void => void process.stdout.write(`${line}\n`);
const health = { healthy: true, checks: [], observedAtMs: 0 };
const report = { revision: "r", sha256: "s", phase: "confirmed", health, error: "", agentVersion: "0", bootId: "b", bootedSystem: "", currentSystem: "", atMs: 0 };

for (let i = 1; ; i++) {
  // Several concurrent writers per round, so group commit batches them.
  await Promise.all([
    store.appendEvent({ kind: "crash", message: String(i) }).then((e) => ack(`event ${e.seq} ${i}`)),
    store.nextFencingToken().then((t) => ack(`token ${t}`)),
    store.enqueue({ node: `q${i}`, kind: "reboot", revision: "r", sha256: "s", reason: "" }).then(() => ack(`queued ${i}`)),
    store.recordReport("n1", report, { revision: `r${i}`, sha256: "s" }).then(() => ack(`applied ${i}`)),
    store.setSecret(`s${i % 3}`, Buffer.from(String(i))).then(() => ack(`secret s${i % 3} ${i}`)),
  ]);
}

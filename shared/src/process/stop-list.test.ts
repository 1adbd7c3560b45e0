// StopList: newest first, every step despite failures, each step once.
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/index.js";
import { StopList } from "./stop-list.js";
import { Writable } from "node:stream";

function logSink() {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { lines, log: createLogger({ name: "t", level: "warn", destination }) };
}

describe("StopList", () => {
  it("stops newest first, goes on past a failing step (logged) and runs each step once", async () => {
    const { lines, log } = logSink();
    const order: string[] = [];
    const stops = new StopList(log);
    stops.push(() => void order.push("store"));
    stops.push(async () => {
      order.push("hooks");
      throw new Error("socket already gone");
    });
    stops.push(() => void order.push("grpc"), () => void order.push("http"));
    await stops.stop();
    expect(order).toEqual(["http", "grpc", "hooks", "store"]);
    expect(lines.join("")).toContain("socket already gone");
    await stops.stop();
    expect(order).toHaveLength(4);
  });
});

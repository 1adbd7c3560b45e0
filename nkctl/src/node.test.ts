import { describe, expect, it } from "vitest";
import { ENROLL_CALLS_IN_FLIGHT, ENROLL_CHUNK, enrollInChunks } from "./node.js";

describe("enrollInChunks", () => {
  it("sends chunks of ENROLL_CHUNK, a few at once, and returns the tokens in the order of the names", async () => {
    const names = Array.from({ length: ENROLL_CHUNK * 5 + 7 }, (_, i) => `n${i}`);
    const calls: number[] = [];
    let inFlight = 0;
    let most = 0;
    const answered = await enrollInChunks(async (nodes) => {
      calls.push(nodes.length);
      most = Math.max(most, ++inFlight);
      // Later chunks answer first: the result keeps the request order regardless.
      for (let i = 0; i < 10 - calls.length; i++) await Promise.resolve();
      inFlight--;
      return { nodes: nodes.map((node) => ({ node, token: `t-${node}` })) };
    }, names);
    expect(calls).toEqual([ENROLL_CHUNK, ENROLL_CHUNK, ENROLL_CHUNK, ENROLL_CHUNK, ENROLL_CHUNK, 7]);
    expect(most).toBe(ENROLL_CALLS_IN_FLIGHT);
    expect(answered.map((e) => e.node)).toEqual(names);
    expect(answered.every((e) => e.token === `t-${e.node}`)).toBe(true);
  });

  it("stops at the first refused call and says why", async () => {
    const names = Array.from({ length: ENROLL_CHUNK + 1 }, (_, i) => `n${i}`);
    await expect(enrollInChunks(async () => Promise.reject(new Error("refused: token has role operator")), names)).rejects.toThrow("refused: token has role operator");
  });
});

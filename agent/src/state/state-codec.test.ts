// Salvaging bad-history entries from damaged state text.
import { describe, expect, it } from "vitest";
import { salvageBadHistory } from "./state-codec.js";

const entry = (c: string, reason: string) => ({ sha256: c.repeat(64), revision: `rev-${c}`, reason, at: 5 });

describe("salvageBadHistory", () => {
  it("reads entries up to where the text breaks off", () => {
    const text = JSON.stringify({ version: 1, bad: [entry("a", 'quote " and \\ slash'), entry("b", "x")], queued: null });
    const cut = text.slice(0, text.indexOf(entry("b", "x").sha256) + 10);
    expect(salvageBadHistory(cut)).toEqual([entry("a", 'quote " and \\ slash')]);
    expect(salvageBadHistory(text)).toEqual([entry("a", 'quote " and \\ slash'), entry("b", "x")]);
  });

  it("finds nothing without a bad list", () => {
    expect(salvageBadHistory('{"version":1,"phase":')).toEqual([]);
  });
});

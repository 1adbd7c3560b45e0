// What the drivers make of a program's output: its log and the line that says what went wrong.
import type { CommandResult } from "./command-runner.js";

export function logOf(r: CommandResult): string {
  return [r.stdout, r.stderr].filter((s) => s.trim() !== "").join("\n");
}

export function joinLogs(...logs: string[]): string {
  return logs.filter((l) => l.trim() !== "").join("\n");
}

export function lastLine(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return lines[lines.length - 1] ?? "";
}

/** The last few lines of `text` on one line ("a; b; c"), at most `maxChars` of it: what an event or a halt reason quotes. */
export function tailLines(text: string, lines = 3, maxChars = 600): string {
  const tail = text.trim().split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(-lines).join("; ");
  return tail.length > maxChars ? `…${tail.slice(-maxChars)}` : tail;
}

/** Nix's own `warning:` lines (e.g. about a missing nixbld group) are not the error. */
export function nixError(r: CommandResult, what: string): string {
  return lastLine(r.stderr.split("\n").filter((l) => !l.startsWith("warning: ")).join("\n")) || `${what} exited with ${r.exitCode}`;
}

/** The nix CLI with the features nk's commands need (flakes are experimental in every Nix nk supports). */
export const NIX = ["nix", "--extra-experimental-features", "nix-command flakes"] as const;

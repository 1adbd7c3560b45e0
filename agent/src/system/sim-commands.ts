// Programs a simulated node "has" (e.g. ceph), answered from <dir>/commands.json so tests and the demo can change them live.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CheckRun } from "./system.js";

/** Command line (words joined by one space) → what it prints and how it exits. */
export type SimCommands = Readonly<Record<string, { readonly stdout?: string; readonly exitCode?: number }>>;

export function commandsPath(dir: string): string {
  return join(dir, "commands.json");
}

/** The simulated answer, or null when the command is not simulated (then it runs for real on the host). */
export async function simulatedCommand(dir: string, argv: readonly string[]): Promise<CheckRun | null> {
  let commands: SimCommands;
  try {
    commands = JSON.parse(await readFile(commandsPath(dir), "utf8")) as SimCommands;
  } catch {
    return null;
  }
  const answer = commands[argv.join(" ")];
  return answer ? { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? "" } : null;
}

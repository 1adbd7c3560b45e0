// Test helpers for coordinator/git: the homelab example as repo files, temp dirs, and a git CLI runner.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const EXAMPLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../examples/homelab");

/** examples/homelab as repo files (inventory.yaml, nodes/, common/, manifests/). */
export async function homelabFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.set(relative(EXAMPLE_DIR, path).split("\\").join("/"), await readFile(path, "utf8"));
    }
  };
  await walk(EXAMPLE_DIR);
  return files;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `nk-${prefix}-`));
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the git CLI as an operator would, without prompts or user config; never throws on failure. */
export function gitCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn("git", args, {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: options.cwd ?? tmpdir(),
        LANG: "C",
        LC_ALL: "C",
        GIT_TERMINAL_PROMPT: "0",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_AUTHOR_NAME: "Op",
        GIT_AUTHOR_EMAIL: "op@example.test",
        GIT_COMMITTER_NAME: "Op",
        GIT_COMMITTER_EMAIL: "op@example.test",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

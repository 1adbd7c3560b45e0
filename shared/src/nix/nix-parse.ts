// Syntax-checks Nix files or in-memory sources with `nix-instantiate --parse` (a few processes at a time).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NkError } from "../errors/index.js";

export interface NixParseResult {
  readonly path: string;
  readonly ok: boolean;
  /** nix-instantiate's message (with file, line and column) when not ok. */
  readonly error?: string;
}

export interface NixSource {
  /** Shown in place of «stdin» in error messages, e.g. the repo path. */
  readonly name: string;
  readonly content: string;
}

export interface NixParseOptions {
  /** Processes at once; default 4. */
  readonly concurrency?: number;
  /** Default: `nix-instantiate` from PATH. */
  readonly nixInstantiate?: string;
  /** Per file; a parse that takes longer counts as failed. Default 10 s. */
  readonly timeoutMs?: number;
}

interface RunOutcome {
  readonly code: number | null;
  readonly stderr: string;
  readonly timedOut: boolean;
}

// ANSI colour codes, in case nix prints them even to a pipe.
const ANSI = /\x1b\[[0-9;]*m/g;

function runParse(bin: string, args: readonly string[], stdin: string | null, timeoutMs: number): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [stdin === null ? "ignore" : "pipe", "ignore", "pipe"] });
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      // Enough to show the error; a runaway message should not grow without bound.
      if (stderr.length < 64_000) stderr += chunk;
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT") reject(new NkError("UNAVAILABLE", `${bin} not found: install Nix (Debian: nix-bin)`, { cause: err }));
      else reject(new NkError("IO", `cannot run ${bin}: ${err.message}`, { cause: err }));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
    if (stdin !== null && child.stdin) {
      // EPIPE if nix exits early on a syntax error; the exit status already tells the story.
      child.stdin.on("error", () => undefined);
      child.stdin.end(stdin);
    }
  });
}

function toResult(path: string, run: RunOutcome, timeoutMs: number, stdinName?: string): NixParseResult {
  if (run.timedOut) return { path, ok: false, error: `nix-instantiate --parse timed out after ${timeoutMs} ms` };
  if (run.code === 0) return { path, ok: true };
  // Nix prints warnings about its own set-up (e.g. a missing nixbld group when run as root) before the
  // error; they say nothing about the file, so only the error is kept.
  let error = run.stderr
    .replace(ANSI, "")
    .split("\n")
    .filter((line) => !line.startsWith("warning: "))
    .join("\n")
    .trim();
  if (stdinName !== undefined) error = error.split("«stdin»").join(stdinName);
  return { path, ok: false, error: error || `nix-instantiate exited with status ${run.code}` };
}

/** Runs `task` over `items` with at most `limit` in flight, keeping results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Parses each file on disk; results in input order. Rejects only if nix-instantiate cannot run at all. */
export function parseNixFiles(paths: readonly string[], options: NixParseOptions = {}): Promise<NixParseResult[]> {
  const bin = options.nixInstantiate ?? "nix-instantiate";
  const timeoutMs = options.timeoutMs ?? 10_000;
  return mapLimited(paths, options.concurrency ?? 4, async (path) =>
    toResult(path, await runParse(bin, ["--parse", path], null, timeoutMs), timeoutMs),
  );
}

/** Sources per batched `nix-instantiate --parse a.nix b.nix ...` run. */
const BATCH_SIZE = 256;

/** One source at a time through stdin, so that errors name the source instead of a temp file. */
function parseEach(sources: readonly NixSource[], bin: string, timeoutMs: number, concurrency: number): Promise<NixParseResult[]> {
  return mapLimited(sources, concurrency, async (src) => toResult(src.name, await runParse(bin, ["--parse", "-"], src.content, timeoutMs), timeoutMs, src.name));
}

/**
 * Parses in-memory sources, e.g. the .nix files of a pushed commit. Many sources are first parsed in
 * batches, one process per batch from a private temp dir: a coordinator with thousands of nodes spawning
 * one process per file blocked its event loop for seconds per push (each spawn of a large process costs
 * tens of milliseconds). A batch that fails (nix stops at its first error) is parsed again one source
 * at a time through stdin, so every broken file is reported under its own name.
 * Relative path literals are never read, so they parse fine.
 */
export async function parseNixSources(sources: readonly NixSource[], options: NixParseOptions = {}): Promise<NixParseResult[]> {
  const bin = options.nixInstantiate ?? "nix-instantiate";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  if (sources.length <= 2) return parseEach(sources, bin, timeoutMs, concurrency);
  const dir = await mkdtemp(join(tmpdir(), "nk-nix-parse-"));
  try {
    const results: NixParseResult[] = [];
    for (let start = 0; start < sources.length; start += BATCH_SIZE) {
      const batch = sources.slice(start, start + BATCH_SIZE);
      const paths = batch.map((_, i) => join(dir, `${start + i}.nix`));
      await Promise.all(batch.map((src, i) => writeFile(paths[i]!, src.content)));
      const run = await runParse(bin, ["--parse", ...paths], null, timeoutMs);
      if (run.code === 0 && !run.timedOut) results.push(...batch.map((src) => ({ path: src.name, ok: true })));
      else results.push(...(await parseEach(batch, bin, timeoutMs, concurrency)));
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

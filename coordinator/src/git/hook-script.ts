// Installs the repo's git hooks: tiny scripts that hand each push to the running coordinator over a unix socket.
import { join } from "node:path";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";

export const HOOK_NAMES = ["pre-receive", "post-receive"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** One line of hook stdin: `<old> <new> <ref>`. */
export interface HookRefLine {
  readonly old: string;
  readonly new: string;
  readonly ref: string;
}

/** What the hook sends: one JSON line. */
export interface HookRequest {
  readonly hook: HookName;
  readonly refs: readonly HookRefLine[];
  readonly env: Readonly<Record<string, string>>;
}

/** What the coordinator answers: one JSON line; the hook prints `lines` (git shows them as `remote:`) and exits with `code`. */
export interface HookResponse {
  readonly code: number;
  readonly lines: readonly string[];
}

/** How long a hook waits for the coordinator (validation runs nix-instantiate on every .nix file). */
export const HOOK_TIMEOUT_MS = 120_000;

// Plain CommonJS with no dependencies, so that node starts it in tens of milliseconds.
const HOOK_JS = `"use strict";
// nk git hook (installed by nk-coordinator): forwards the ref updates to the coordinator and prints its answer.
const net = require("net");
const path = require("path");
const [hook, socketPath] = process.argv.slice(2);
const refusing = hook === "pre-receive";
function finish(code, lines) {
  for (const line of lines) process.stderr.write(line + "\\n");
  process.exitCode = code;
}
function unreachable(why) {
  finish(refusing ? 1 : 0, ["nk: cannot reach the coordinator (" + why + ")" + (refusing ? ": push refused" : "")]);
}
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const refs = input.split("\\n").filter(Boolean).map((line) => {
    const [oldSha, newSha, ref] = line.split(" ");
    return { old: oldSha, new: newSha, ref };
  });
  // Git may hand over relative object directories; the coordinator runs elsewhere.
  const env = {};
  for (const key of ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"]) {
    if (process.env[key]) env[key] = path.resolve(process.env[key]);
  }
  // Who pushed, as git-http-backend was told (the HTTP user name), for the rollout history.
  if (process.env.REMOTE_USER) env.REMOTE_USER = process.env.REMOTE_USER;
  // Which token pushed (its name, set by the coordinator's git endpoint), for the audit log.
  if (process.env.NK_TOKEN_NAME) env.NK_TOKEN_NAME = process.env.NK_TOKEN_NAME;
  if (process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES) {
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES.split(":").filter(Boolean).map((p) => path.resolve(p)).join(":");
  }
  const socket = net.createConnection(socketPath);
  let answer = "";
  let done = false;
  const timer = setTimeout(() => { done = true; socket.destroy(); unreachable("no answer within ${HOOK_TIMEOUT_MS / 1000} s"); }, ${HOOK_TIMEOUT_MS});
  socket.setEncoding("utf8");
  socket.on("connect", () => socket.write(JSON.stringify({ hook, refs, env }) + "\\n"));
  socket.on("data", (chunk) => {
    answer += chunk;
    const eol = answer.indexOf("\\n");
    if (eol < 0 || done) return;
    done = true;
    clearTimeout(timer);
    socket.end();
    try {
      const res = JSON.parse(answer.slice(0, eol));
      finish(Number.isInteger(res.code) ? res.code : 1, Array.isArray(res.lines) ? res.lines.map(String) : []);
    } catch (err) {
      unreachable("unreadable answer");
    }
  });
  socket.on("error", (err) => { if (!done) { done = true; clearTimeout(timer); unreachable(err.code || err.message); } });
  socket.on("close", () => { if (!done) { done = true; clearTimeout(timer); unreachable("connection closed"); } });
});
`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}


/**
 * Writes nk-hook.cjs and the pre-receive/post-receive wrappers into `hooksDir`, pointing at this
 * node binary and `socketPath` (absolute paths, rewritten on every start).
 */
export async function installHooks(hooksDir: string, socketPath: string, nodePath = process.execPath): Promise<void> {
  const script = join(hooksDir, "nk-hook.cjs");
  // Renamed into place: git may be running the old hook at this moment.
  await writeFileAtomic(script, HOOK_JS, 0o700);
  for (const name of HOOK_NAMES) {
    const wrapper = `#!/bin/sh\n# Installed by nk-coordinator on every start; edits are overwritten.\nexec ${shellQuote(nodePath)} ${shellQuote(script)} ${name} ${shellQuote(socketPath)}\n`;
    await writeFileAtomic(join(hooksDir, name), wrapper, 0o700);
  }
}

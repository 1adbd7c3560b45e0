// `nkctl pin [dir]`: locks the inventory's flake inputs into nk.lock with the operator's Nix, and prints old -> new.
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { formatDiagnostic, validateInventoryText } from "../../shared/src/inventory/index.js";
import { LOCK_FILE, parseNkLock, renderNkLock, wantedUrls, type FlakeAttrs, type LockedInput, type NkLock } from "../../shared/src/lock/index.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { lockWithNix } from "./nix-flake.js";
import { emit } from "./output.js";
import { readRepoDir } from "./repo-files.js";

const INPUTS = ["nixpkgs", "nk"] as const;
type InputName = (typeof INPUTS)[number];

interface PinOptions {
  readonly update?: boolean | string;
  readonly nkSource?: string;
}

export interface PinChange {
  readonly input: InputName;
  readonly url: string;
  /** What identifies the locked tree: a rev where there is one, else the narHash; null when it was not locked. */
  readonly from: string | null;
  readonly to: string;
}

/** The rev (12 characters) or, for a tarball, the narHash: what a reader compares. */
export function lockedId(locked: FlakeAttrs): string {
  return typeof locked.rev === "string" ? locked.rev.slice(0, 12) : String(locked.narHash);
}

/** "nixpkgs github:NixOS/nixpkgs/nixos-24.11: a47676d7eec2 -> 5f3a9c1b2d4e" ("not locked" before the first pin). */
export function formatChange(c: PinChange): string {
  const verb = c.from === c.to ? `${c.to} (unchanged)` : `${c.from ?? "not locked"} -> ${c.to}`;
  return `${c.input} ${c.url}: ${verb}`;
}

function updatedInputs(update: boolean | string | undefined): Set<InputName> {
  if (update === undefined || update === false) return new Set();
  if (update === true) return new Set(INPUTS);
  if (!(INPUTS as readonly string[]).includes(update)) throw new NkError("INVALID_ARGUMENT", `--update takes nixpkgs or nk, not "${update}"`);
  return new Set([update as InputName]);
}

export async function pin(ctx: CliContext, dir: string, opts: PinOptions): Promise<{ changes: PinChange[]; lock: NkLock } | null> {
  const files = await readRepoDir(dir);
  const text = files.get("inventory.yaml");
  const { inventory, diagnostics } = validateInventoryText(text ?? "");
  if (text === undefined || !inventory) {
    for (const d of diagnostics) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
    ctx.stderr.write(`nkctl: ${text === undefined ? `no inventory.yaml in ${dir}` : "the inventory has errors"}: nothing pinned\n`);
    return null;
  }
  const lockText = files.get(LOCK_FILE);
  const parsed = lockText === undefined ? null : parseNkLock(lockText);
  if (parsed && !parsed.lock) ctx.stderr.write(`nkctl: warning: ${LOCK_FILE} is unreadable (${parsed.diagnostics.map(formatDiagnostic).join("; ")}); locking everything again\n`);
  const old = parsed?.lock ?? null;
  const update = updatedInputs(opts.update);
  const nkSource = inventory.cluster.agent.flake === undefined ? (opts.nkSource ?? old?.nkSource) : undefined;
  if (inventory.cluster.agent.flake === undefined && nkSource === undefined) {
    throw new NkError("INVALID_ARGUMENT", "the bundles import the nk source the coordinator serves: name it with --nk-source <url> (GET /nk/source on the coordinator's HTTP listener prints it), or set cluster.agent.flake");
  }
  const urls: Record<InputName, string> = { nixpkgs: wantedUrls(inventory, old).nixpkgs, nk: inventory.cluster.agent.flake ?? nkSource! };

  const locks = new Map<string, LockedInput>();
  const changes: PinChange[] = [];
  let nixpkgsLockedUrl: string | undefined;
  for (const input of INPUTS) {
    const url = urls[input];
    const before = old?.locks.get(url);
    if (before && !update.has(input)) {
      locks.set(url, before);
      changes.push({ input, url, from: lockedId(before.locked), to: lockedId(before.locked) });
      continue;
    }
    // nk's own nixpkgs input follows the bundle's: lock nk against the nixpkgs just locked, not its default.
    const override = input === "nk" ? (nixpkgsLockedUrl ?? lockedUrlOf(locks.get(urls.nixpkgs))) : undefined;
    const locked = await lockWithNix(url, { ...(ctx.env.NK_NIX ? { nix: ctx.env.NK_NIX } : {}), ...(override ? { overrideNixpkgs: override } : {}) });
    if (input === "nixpkgs") nixpkgsLockedUrl = locked.lockedUrl;
    locks.set(url, { original: locked.original, locked: locked.locked });
    changes.push({ input, url, from: before ? lockedId(before.locked) : null, to: lockedId(locked.locked) });
  }
  const lock: NkLock = { ...(nkSource !== undefined ? { nkSource } : {}), locks };
  // Written aside and renamed: an interrupted pin leaves the old lock, never half a file.
  const path = join(dir, LOCK_FILE);
  await writeFile(`${path}.tmp`, renderNkLock(lock));
  await rename(`${path}.tmp`, path);
  return { changes, lock };
}

/** A reference Nix accepts for exactly this locked tree (for a git or github input, its rev). */
function lockedUrlOf(entry: LockedInput | undefined): string | undefined {
  const l = entry?.locked;
  if (!l) return undefined;
  if (l.type === "github") return `github:${String(l.owner)}/${String(l.repo)}/${String(l.rev)}`;
  if (l.type === "git") return `git+${String(l.url)}?rev=${String(l.rev)}${l.ref ? `&ref=${String(l.ref)}` : ""}`;
  if (l.type === "tarball") return String(l.url);
  return undefined;
}

export function registerPin(program: Command, ctx: CliContext): void {
  program
    .command("pin")
    .description("lock the inventory's nixpkgs and nk into nk.lock with your Nix (what is not locked yet; --update moves inputs forward)")
    .argument("[dir]", "the inventory checkout", ".")
    .option("--update [input]", "lock again what is already locked: nixpkgs, nk, or (no value) both")
    .option("--nk-source <url>", "the nk source the coordinator serves (its GET /nk/source), when the inventory sets no cluster.agent.flake")
    .addHelpText("after", "\nRuns nix flake metadata --json (flakes enabled, no global registry) for each input it locks; NK_NIX names another nix.\nExits 1 when the inventory has errors.")
    .action(async (dir: string, opts: PinOptions, cmd: Command) => {
      const { output } = cmd.optsWithGlobals<GlobalOptions>();
      const result = await pin(ctx, dir, opts);
      if (!result) {
        ctx.exitCode = EXIT.PROBLEMS;
        return;
      }
      emit(ctx, output, { changes: result.changes, lock: JSON.parse(renderNkLock(result.lock)) }, () => `${result.changes.map(formatChange).join("\n")}\nwrote ${join(dir, LOCK_FILE)}\n`);
    });
}

// The two inputs every bundle's flake has (nixpkgs and nk), looked up in nk.lock, with what is missing and where to fix it.
import { NkError } from "../errors/index.js";
import type { Diagnostic, Inventory, RepoFiles } from "../inventory/model.js";
import type { SourcePos } from "../inventory/yaml-reader.js";
import { nixpkgsUrl } from "../render/nixpkgs-url.js";
import { LOCK_FILE, parseNkLock, type LockedInput, type NkLock, type ParsedNkLock } from "./nk-lock.js";

export interface ResolvedInput extends LockedInput {
  /** The reference as the bundle's flake.nix spells it. */
  readonly url: string;
}

export interface BundleInputs {
  readonly nixpkgs: ResolvedInput;
  readonly nk: ResolvedInput;
}

export const PIN_FIX = "run nkctl pin";

/** The references the inventory asks for; nk is undefined when it names none and nk.lock holds no coordinator source. */
export function wantedUrls(inventory: Inventory, lock: NkLock | null): { nixpkgs: string; nk: string | undefined } {
  return { nixpkgs: nixpkgsUrl(inventory.cluster.nixpkgs), nk: inventory.cluster.agent.flake ?? lock?.nkSource };
}

/** nk.lock of a repo, parsed, or null when the repo has none. */
/** The last nk.lock text and its parse: every push renders with it, and it rarely changes (~45 ms a parse). */
let lastLock: { text: string; parsed: ParsedNkLock } | null = null;

export function readLock(files: RepoFiles): ParsedNkLock | null {
  const text = files.get(LOCK_FILE);
  if (text === undefined) return null;
  if (lastLock?.text !== text) lastLock = { text, parsed: parseNkLock(text) };
  return lastLock.parsed;
}

function describeLocked(lock: NkLock | null): string {
  if (!lock) return `there is no ${LOCK_FILE}`;
  const urls = [...lock.locks.keys()];
  return urls.length === 0 ? `${LOCK_FILE} locks nothing` : `${LOCK_FILE} locks ${urls.map((u) => `"${u}"`).join(", ")}`;
}

/**
 * Every input the inventory uses that nk.lock does not lock, as a diagnostic at the inventory field that
 * names it, with the fix. `at` finds a field's position by dot-path.
 */
export function lockDiagnostics(inventory: Inventory, lock: NkLock | null, at: (path: string) => SourcePos): Diagnostic[] {
  const out: Diagnostic[] = [];
  const wanted = wantedUrls(inventory, lock);
  const report = (field: string, message: string): void => {
    const pos = at(field);
    out.push({ file: "inventory.yaml", line: pos.line, col: pos.col, field, message, severity: "error" });
  };
  if (!lock?.locks.has(wanted.nixpkgs)) report("cluster.nixpkgs", `"${wanted.nixpkgs}" is not locked (${describeLocked(lock)}): ${PIN_FIX}`);
  if (wanted.nk === undefined) {
    report("cluster.agent", `the nk source is not locked (${lock ? `${LOCK_FILE} has no nk_source` : `there is no ${LOCK_FILE}`}): ${PIN_FIX} (it locks the source the coordinator serves), or set cluster.agent.flake`);
  } else if (!lock?.locks.has(wanted.nk)) {
    report(inventory.cluster.agent.flake !== undefined ? "cluster.agent.flake" : "cluster.agent", `"${wanted.nk}" is not locked (${describeLocked(lock)}): ${PIN_FIX}`);
  }
  return out;
}

/** The bundle inputs of a validated repo; throws when nk.lock lacks one (validation reports that first). */
export function bundleInputs(inventory: Inventory, files: RepoFiles): BundleInputs {
  const parsed = readLock(files);
  const lock = parsed?.lock ?? null;
  const wanted = wantedUrls(inventory, lock);
  const get = (url: string | undefined, name: string): ResolvedInput => {
    const entry = url === undefined ? undefined : lock?.locks.get(url);
    if (!entry || url === undefined) throw new NkError("INVENTORY_INVALID", `the ${name} input is not locked (${describeLocked(lock)}): ${PIN_FIX}`);
    return { url, ...entry };
  };
  return { nixpkgs: get(wanted.nixpkgs, "nixpkgs"), nk: get(wanted.nk, "nk") };
}

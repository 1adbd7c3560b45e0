// Faults a SimSystem injects, read from <dir>/faults.json on every call so tests can change them live.
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { readSmallFile } from "./read-small-file.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";

export const FAULT_KINDS = [
  "build-error",
  "build-hang",
  "activation-error",
  "activation-hang",
  "unhealthy-after-switch",
  "unhealthy-after-reboot",
  /** A trial boot of the bundle never comes up (kernel panic or hang): the reset comes back on the boot default. */
  "never-boots",
  /** `k3s etcd-snapshot save` fails; keyed by the snapshot name (nk-<revision>-<node>) or "*". */
  "etcd-snapshot-error",
  /** Both build-hang and activation-hang. */
  "hang",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Keyed by bundle sha256 (etcd-snapshot-error: by snapshot name), or "*" for every bundle (never the machine's initial, unmanaged system). */
export type Faults = Readonly<Record<string, readonly FaultKind[]>>;

const KNOWN: ReadonlySet<string> = new Set(FAULT_KINDS);

export function faultsPath(dir: string): string {
  return join(dir, "faults.json");
}

export async function readFaults(dir: string): Promise<Faults> {
  let text: string | null;
  try {
    text = readSmallFile(faultsPath(dir));
  } catch (err) {
    throw new NkError("IO", `cannot read ${faultsPath(dir)}`, { cause: err });
  }
  if (text === null) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new NkError("INVALID_ARGUMENT", `${faultsPath(dir)} is not JSON`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new NkError("INVALID_ARGUMENT", `${faultsPath(dir)} must map sha256 or "*" to a list of faults`);
  }
  const faults: Record<string, FaultKind[]> = {};
  for (const [key, kinds] of Object.entries(parsed)) {
    if (!Array.isArray(kinds) || kinds.some((k) => typeof k !== "string" || !KNOWN.has(k))) {
      throw new NkError("INVALID_ARGUMENT", `${faultsPath(dir)}: "${key}" must list faults among ${FAULT_KINDS.join(", ")}`);
    }
    faults[key] = kinds as FaultKind[];
  }
  return faults;
}

export async function writeFaults(dir: string, faults: Faults): Promise<void> {
  // Each write has a temp file of its own: two writers sharing one interleaved their bytes (found by the chaos run).
  await writeFileAtomic(faultsPath(dir), JSON.stringify(faults, null, 2), 0o644, { durable: false });
}

/** `sha256` null is the unmanaged initial system, which no fault touches. */
export function hasFault(faults: Faults, kind: FaultKind, sha256: string | null): boolean {
  if (sha256 === null) return false;
  const kinds = [...(faults[sha256] ?? []), ...(faults["*"] ?? [])];
  return kinds.includes(kind) || (kind.endsWith("-hang") && kinds.includes("hang"));
}

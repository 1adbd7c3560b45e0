// The paths that decide a reboot (kernel, initrd, kernel modules), how two sets differ, and how a change reads.
import type { BootPaths as WireBootPaths } from "../proto/gen/nk/v1/common.js";
import type { BootChange } from "./preview-codec.js";

/** The targets of a system's `kernel`, `initrd` and `kernel-modules` links; null where it has none. */
export interface BootPaths {
  readonly kernel: string | null;
  readonly initrd: string | null;
  readonly kernelModules: string | null;
}

/** `/nix/store/<hash>-linux-6.6.32/bzImage` → `linux-6.6.32`; other paths as they are. */
export function storeName(path: string): string {
  const m = /^\/nix\/store\/[0-9a-z]{32}-([^/]+)/.exec(path);
  return m?.[1] ?? path;
}

/** `kernel linux-6.6.30 → linux-6.6.32`, or `kernel rebuilt (linux-6.6.30)` when only the hash moved. */
export function describeChange(c: BootChange): string {
  const [from, to] = [storeName(c.from), storeName(c.to)];
  return from === to ? `${c.what} rebuilt (${to})` : `${c.what} ${from} → ${to}`;
}

/** The parts in which `next` differs from `booted`, named as the agent names them ("" for a missing link). */
export function bootPathChanges(booted: BootPaths, next: BootPaths): BootChange[] {
  const parts = [
    ["kernel", booted.kernel, next.kernel],
    ["initrd", booted.initrd, next.initrd],
    ["kernel-modules", booted.kernelModules, next.kernelModules],
  ] as const;
  return parts.filter(([, from, to]) => from !== to).map(([what, from, to]) => ({ what, from: from ?? "", to: to ?? "" }));
}

export function bootPathsToWire(p: BootPaths): WireBootPaths {
  return { kernel: p.kernel ?? "", initrd: p.initrd ?? "", kernelModules: p.kernelModules ?? "" };
}

/** Unset on the wire (an older agent) is null: nothing known. */
export function bootPathsFromWire(p: WireBootPaths | undefined): BootPaths | null {
  if (!p) return null;
  return { kernel: p.kernel || null, initrd: p.initrd || null, kernelModules: p.kernelModules || null };
}

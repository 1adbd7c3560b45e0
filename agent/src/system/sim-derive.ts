// What a simulated build derives from a bundle: a store path and the parts that decide reboots and restarts.
import { createHash } from "node:crypto";
// Not through render/index: that would load the whole renderer into every agent.
import { bundleSha256, type BundleFile } from "../../../shared/src/render/bundle.js";
import { bootPathChanges, type BootChange, type BootPaths } from "../../../shared/src/wire/index.js";
import { vrrpPriorityOf } from "./sim-vip.js";
import type { DryActivateResult } from "./system.js";

/** Stored per simulated system path, like the links inside a real system's store path. */
export interface SimSystemMeta {
  readonly systemPath: string;
  /** null for the machine's initial system, which nk did not build. */
  readonly bundleSha256: string | null;
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelModules: string;
  /** The nk version the generation's flake pins (`nk.url = ".../v0.1.0"` or `".../nk-0.1.0….tar.gz"`), i.e. the agent it would run. */
  readonly agentVersion?: string;
  /** The k3s the system runs ("1.31.4+k3s1"), derived from its nixpkgs; absent without k3s and for the initial system. */
  readonly k3sVersion?: string;
  /** VRRP priority when the system carries the API VIP (its nk/keepalived.nix). */
  readonly vrrpPriority?: number;
  /** Hashes of what each unit's configuration depends on; a change restarts the unit. */
  readonly units: Readonly<Record<string, string>>;
}

const h = (...parts: string[]): string => createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 16);

function linesMatching(files: readonly BundleFile[], re: RegExp): string {
  return files
    .filter((f) => f.path.endsWith(".nix"))
    .flatMap((f) => f.content.split("\n").filter((l) => re.test(l)).map((l) => `${f.path}:${l.trim()}`))
    .join("\n");
}

function fileContent(files: readonly BundleFile[], path: string): string {
  return files.find((f) => f.path === path)?.content ?? "";
}

function lockedNixpkgs(files: readonly BundleFile[]): string {
  const lock = fileContent(files, "flake.lock");
  if (!lock) return "";
  const locked = (JSON.parse(lock) as { nodes?: { nixpkgs?: { locked?: unknown } } }).nodes?.nixpkgs?.locked;
  return locked === undefined ? "" : `\0${JSON.stringify(locked)}`;
}

/**
 * The k3s a nixpkgs ships, as a real one would: the release a channel names picks the minor (nixos-24.05 ships
 * 1.30, each release after it one more), anything else a minor from its hash; the pinned commit picks the patch.
 */
export function simK3sVersion(nixpkgs: string): string {
  const digest = createHash("sha256").update(`k3s\0${nixpkgs}`).digest();
  const release = /nixos-(\d\d)\.(\d\d)/.exec(nixpkgs);
  const minor = release ? 30 + 2 * (Number(release[1]) - 24) + (Number(release[2]) >= 11 ? 1 : 0) : 28 + (digest[0]! % 8);
  return `1.${minor}.${digest[1]! % 10}+k3s1`;
}

/**
 * The kernel follows the nixpkgs pin (plus any boot.kernel* / boot.initrd* settings), so a nixpkgs
 * bump needs a reboot while a change in users.nix does not; k3s restarts when nk/k3s.nix changes.
 */
export function deriveSystem(node: string, files: readonly BundleFile[]): SimSystemMeta {
  const sha = bundleSha256(files);
  // The nixpkgs a system is built from: the reference and the commit flake.lock pins it to (nkctl pin --update moves only the latter).
  const nixpkgs = (linesMatching(files, /nixpkgs\.url\s*=/) || fileContent(files, "flake.nix")) + lockedNixpkgs(files);
  const nkUrl = fileContent(files, "flake.nix").match(/nk\.url\s*=\s*"([^"]*)"/)?.[1] ?? "";
  const priority = vrrpPriorityOf(files.find((f) => f.path === "nk/keepalived.nix")?.content);
  const agentVersion = (/\/v([0-9][^"/]*)$/.exec(nkUrl) ?? /\/nk-([0-9]+\.[0-9]+\.[0-9]+)[^"/]*\.tar\.gz$/.exec(nkUrl))?.[1];
  return {
    systemPath: `/nix/store/${sha.slice(0, 32)}-nixos-system-${node}-sim`,
    bundleSha256: sha,
    ...(agentVersion ? { agentVersion } : {}),
    ...(priority !== null ? { vrrpPriority: priority } : {}),
    ...(files.some((f) => f.path === "nk/k3s.nix") ? { k3sVersion: simK3sVersion(nixpkgs) } : {}),
    kernel: h("kernel", nixpkgs, linesMatching(files, /boot\.kernel(Packages|Params|Patches)/)),
    initrd: h("initrd", nixpkgs, linesMatching(files, /boot\.initrd/)),
    kernelModules: h("modules", nixpkgs, linesMatching(files, /boot\.(kernelModules|extraModulePackages)/)),
    units: {
      // A host without k3s (role none) has no nk/k3s.nix, and so no k3s unit.
      ...(files.some((f) => f.path === "nk/k3s.nix") ? { "k3s.service": h(nixpkgs, fileContent(files, "nk/k3s.nix")) } : {}),
      "network-setup.service": h(fileContent(files, "nk/network.nix")),
      ...(priority !== null ? { "keepalived.service": h(fileContent(files, "nk/keepalived.nix")) } : {}),
    },
  };
}

export function initialSystem(node: string): SimSystemMeta {
  const id = h("initial", node);
  return {
    systemPath: `/nix/store/${id}${id}-nixos-system-${node}-initial`,
    bundleSha256: null,
    kernel: h("kernel", "initial"),
    initrd: h("initrd", "initial"),
    kernelModules: h("modules", "initial"),
    // Provisioned with k3s already running, as nodes usually are before nk manages them.
    units: { "k3s.service": h("k3s", "initial") },
  };
}

/** What dry-activate would print going from `current` to `next`: units started, stopped or restarted. */
export function unitChanges(current: SimSystemMeta, next: SimSystemMeta): DryActivateResult {
  const units = new Set([...Object.keys(next.units), ...Object.keys(current.units)]);
  const result = { stopUnits: [] as string[], restartUnits: [] as string[], reloadUnits: [] as string[], startUnits: [] as string[] };
  for (const unit of [...units].sort()) {
    const [was, will] = [current.units[unit], next.units[unit]];
    if (was === will) continue;
    if (was === undefined) result.startUnits.push(unit);
    else if (will === undefined) result.stopUnits.push(unit);
    else result.restartUnits.push(unit);
  }
  return result;
}

/** A reboot is needed when the kernel, initrd or kernel modules differ from the booted system's. */
export function bootChanged(booted: SimSystemMeta, next: SimSystemMeta): boolean {
  return next.kernel !== booted.kernel || next.initrd !== booted.initrd || next.kernelModules !== booted.kernelModules;
}

/** A simulated system's kernel, initrd and modules as store paths named after their hash (a real one names a version). */
export function simBootPaths(meta: SimSystemMeta): BootPaths {
  const path = (name: string, hash: string): string => `/nix/store/${hash.padEnd(32, "0")}-${name}-sim-${hash.slice(0, 8)}`;
  return { kernel: path("linux", meta.kernel), initrd: path("initrd", meta.initrd), kernelModules: path("kernel-modules", meta.kernelModules) };
}

/** The simulated boot closure's differing parts, as the paths simBootPaths names (what a builder reports too). */
export function bootChangesOf(booted: SimSystemMeta, next: SimSystemMeta): BootChange[] {
  return bootPathChanges(simBootPaths(booted), simBootPaths(next));
}

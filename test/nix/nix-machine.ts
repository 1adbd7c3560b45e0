// A sandboxed "machine" for real-Nix tests: its own chroot store, Nix configuration and home, offline, no daemon.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProcessRunner } from "../../agent/src/system/process-runner.js";

export interface NixMachine {
  readonly dir: string;
  /** The chroot store's root: its /nix/store is <root>/nix/store on disk. */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs commands as on this machine: nix finds its store and settings through NIX_CONF_DIR, as through /etc/nix. */
  readonly runner: ProcessRunner;
}

/**
 * Nix settings of a machine without the nixbld group or network: builds run in the sandbox with the host's /bin/sh and
 * coreutils mounted in (the stand-in systems need nothing else), no substituters, no flake registry.
 */
export function nixMachine(parent: string, name: string): NixMachine {
  const dir = join(parent, name);
  const root = join(dir, "root");
  for (const d of ["conf", "state", "home", "root"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(dir, "conf", "nix.conf"),
    [`store = ${root}`, "build-users-group =", "substituters =", "flake-registry =", "extra-sandbox-paths = /bin /usr /lib /lib64", "sandbox-fallback = false", ""].join("\n"),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(dir, "home"),
    NIX_CONF_DIR: join(dir, "conf"),
    NIX_STATE_DIR: join(dir, "state"),
    XDG_CONFIG_HOME: join(dir, "home", ".config"),
    XDG_CACHE_HOME: join(dir, "home", ".cache"),
  };
  return { dir, root, env, runner: new ProcessRunner(env) };
}

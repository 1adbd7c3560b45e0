// A builder's real Nix driver: evaluate and build a node's system, sign its closure, push it to the cache, read its boot paths.
import { stat } from "node:fs/promises";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeBundleDir } from "../system/bundle-dir.js";
import { joinLogs, logOf, NIX, nixError } from "../system/command-output.js";
import type { CommandRunner } from "../system/command-runner.js";
import { STORE_PATH } from "../system/nix-fetch.js";
import type { Builder, BuildJob, BuildJobResult } from "./builder.js";

export interface NixBuilderOptions {
  readonly runner: CommandRunner;
  /** Bundles are written under here, one directory per node and bundle, each with its `result` GC root. */
  readonly workDir: string;
  /** The secret signing key: read by `nix store sign` from this file, never passed on as content. */
  readonly keyFile: string;
}

/** The attribute nixos-rebuild builds for `node` from a bundle's flake. */
export function toplevelAttr(bundleDir: string, node: string): string {
  return `path:${bundleDir}#nixosConfigurations.${node}.config.system.build.toplevel`;
}

export class NixBuilder implements Builder {
  constructor(private readonly options: NixBuilderOptions) {}

  /** A key others can read is a leaked key: refuse to sign with it. */
  private async checkKeyFile(): Promise<void> {
    const s = await stat(this.options.keyFile).catch((e: NodeJS.ErrnoException) => {
      throw new NkError("IO", `cannot read the signing key file ${this.options.keyFile}: ${e.code ?? e.message}`);
    });
    if ((s.mode & 0o077) !== 0) throw new NkError("PERMISSION_DENIED", `signing key file ${this.options.keyFile} is readable by others (mode ${(s.mode & 0o777).toString(8)}): chmod 600 it`);
  }

  async build(job: BuildJob, signal?: AbortSignal): Promise<BuildJobResult> {
    await this.checkKeyFile();
    const { runner } = this.options;
    const opts = signal ? { signal } : {};
    const dir = `${this.options.workDir}/${job.node}-${job.bundleSha256.slice(0, 16)}`;
    await writeBundleDir(dir, job.files);
    const built = await runner.run([...NIX, "build", "--print-build-logs", "--json", "--out-link", `${dir}/result`, toplevelAttr(dir, job.node)], { cwd: dir, ...opts });
    if (built.exitCode !== 0) return { ok: false, error: nixError(built, "nix build"), log: logOf(built) };
    const systemPath = outPath(built.stdout);
    if (systemPath === null) return { ok: false, error: `nix build printed no store path: ${built.stdout.slice(0, 200)}`, log: logOf(built) };
    const signed = await runner.run([...NIX, "store", "sign", "--key-file", this.options.keyFile, "--recursive", systemPath], opts);
    if (signed.exitCode !== 0) return { ok: false, error: `signing ${systemPath} failed: ${nixError(signed, "nix store sign")}`, log: joinLogs(logOf(built), logOf(signed)) };
    const pushed = await runner.run([...NIX, "copy", "--to", job.cacheUrl, systemPath], opts);
    const log = joinLogs(logOf(built), logOf(signed), logOf(pushed));
    if (pushed.exitCode !== 0) return { ok: false, error: `pushing ${systemPath} to ${job.cacheUrl} failed: ${nixError(pushed, "nix copy")}`, log };
    const [kernel, initrd, kernelModules] = [await this.link(systemPath, "kernel"), await this.link(systemPath, "initrd"), await this.link(systemPath, "kernel-modules")];
    return { ok: true, built: { systemPath, kernel, initrd, kernelModules }, log };
  }

  /** A toplevel's boot file link target, read through the store (works for any store, not just /nix/store on disk). */
  private async link(systemPath: string, name: string): Promise<string | null> {
    const r = await this.options.runner.run([...NIX, "store", "ls", "--json", `${systemPath}/${name}`]);
    if (r.exitCode !== 0) return null;
    try {
      const entry = JSON.parse(r.stdout) as { type?: string; target?: string };
      return entry.type === "symlink" && typeof entry.target === "string" ? entry.target : null;
    } catch {
      return null;
    }
  }
}

/** The `out` path from `nix build --json`. */
function outPath(stdout: string): string | null {
  try {
    const out = (JSON.parse(stdout) as { outputs?: { out?: string } }[])[0]?.outputs?.out;
    return typeof out === "string" && STORE_PATH.test(out) ? out : null;
  } catch {
    return null;
  }
}

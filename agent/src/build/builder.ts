// What a builder does with a build job, behind one interface: NixBuilder (real Nix) and SimBuilder (the simulator).
import type { BundleFile } from "../../../shared/src/render/index.js";

export interface BuildJob {
  readonly node: string;
  readonly revision: string;
  readonly bundleSha256: string;
  readonly files: readonly BundleFile[];
  /** The Nix store URL to push to. */
  readonly cacheUrl: string;
}

/** The toplevel and the paths that decide whether switching to it needs a reboot (null: the system has none). */
export interface BuiltSystem {
  readonly systemPath: string;
  readonly kernel: string | null;
  readonly initrd: string | null;
  readonly kernelModules: string | null;
}

export type BuildJobResult = { readonly ok: true; readonly built: BuiltSystem; readonly log: string } | { readonly ok: false; readonly error: string; readonly log: string };

export interface Builder {
  /** Build, sign and push one node's system. A failed build is returned; a builder that cannot work at all throws NkError. */
  build(job: BuildJob, signal?: AbortSignal): Promise<BuildJobResult>;
}

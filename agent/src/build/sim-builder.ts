// The simulator's builder: derives the system a bundle gives (as SimSystem's build does), signs it as `publicKey`, pushes it.
import { readBundleDir, writeBundleDir } from "../system/bundle-dir.js";
import { pushSimCache } from "../system/sim-cache.js";
import { deriveSystem, simBootPaths } from "../system/sim-derive.js";
import { hasFault, readFaults } from "../system/sim-faults.js";
import type { Builder, BuildJob, BuildJobResult } from "./builder.js";
import { abortableSleep, unlessAborted } from "../../../shared/src/time/index.js";

export interface SimBuilderOptions {
  /** Bundles are written here; faults.json here fails or hangs builds (build-error, build-hang) as on a SimSystem. */
  readonly dir: string;
  /** The public key of the secret key this builder signs with. */
  readonly publicKey: string;
  readonly buildMs?: number;
  /** Multiplies buildMs; 0 makes builds instant. */
  readonly timeScale?: number;
}

export class SimBuilder implements Builder {
  constructor(private readonly options: SimBuilderOptions) {}

  async build(job: BuildJob, signal?: AbortSignal): Promise<BuildJobResult> {
    const dir = `${this.options.dir}/bundles/${job.node}-${job.bundleSha256.slice(0, 16)}`;
    await writeBundleDir(dir, job.files);
    const meta = deriveSystem(job.node, await readBundleDir(dir));
    const faults = await readFaults(this.options.dir);
    // A hanging build runs until it is aborted (the job is cancelled or the builder dies).
    if (hasFault(faults, "build-hang", meta.bundleSha256)) await unlessAborted(new Promise<never>(() => undefined), signal);
    await abortableSleep((this.options.buildMs ?? 3_000) * (this.options.timeScale ?? 1), signal);
    const log = `building '/nix/store/${meta.systemPath.slice(11, 43)}-nixos-system-${job.node}.drv'...`;
    if (!job.files.some((f) => f.path === "flake.nix")) return { ok: false, error: `error: path:${dir} has no flake.nix`, log };
    if (hasFault(faults, "build-error", meta.bundleSha256)) return { ok: false, error: "error: simulated build failure", log: `${log}\nerror: simulated build failure` };
    await pushSimCache(job.cacheUrl, { meta, signedBy: this.options.publicKey });
    // The boot paths as the simulated machines name theirs, so a coordinator can compare the two.
    const built = { systemPath: meta.systemPath, ...simBootPaths(meta) };
    return { ok: true, built, log: `${log}\ncopying path '${meta.systemPath}' to '${job.cacheUrl}'...` };
  }
}

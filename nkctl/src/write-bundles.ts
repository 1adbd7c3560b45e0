// Writes rendered bundles into `--out` all or nothing: staged, swapped in by rename, undone on a failure or Ctrl-C
// (an `--out` the run created is removed again), and one writer at a time per folder.
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorMessage, isNkError, NkError } from "../../shared/src/errors/index.js";
import { fsReason } from "../../shared/src/fs/index.js";
import { isNodeName } from "../../shared/src/names/index.js";
import { takePidLock } from "../../shared/src/process/index.js";
import type { CliContext } from "./cli-context.js";
import { removeCreatedDir } from "./remove-created-dir.js";

export interface BundleView {
  readonly node: string;
  /** Empty when the coordinator rendered it (its answer carries no role). */
  readonly role: string;
  readonly sha256: string;
  readonly files: readonly { readonly path: string; readonly content: string | Uint8Array }[];
}

/** Held in `--out` while a writer works there; names its process. */
export const OUT_LOCK = ".nk-render.lock";
const STAGING_PREFIX = ".nk-staging-";

/** Safe relative path of a bundle file: no absolute paths, no '..', no empty segments. */
function safePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** Every node name and file path checked before anything is written. */
function checkBundles(bundles: readonly BundleView[]): void {
  for (const b of bundles) {
    if (!isNodeName(b.node)) throw new NkError("INVALID_ARGUMENT", `refusing to write a bundle for node "${b.node}" (not a DNS label)`);
    const bad = b.files.find((f) => !safePath(f.path));
    if (bad) throw new NkError("INVALID_ARGUMENT", `refusing to write ${JSON.stringify(bad.path)} of node ${b.node}: not a plain relative path`);
  }
}

/** `out`'s entries (its writers' own lock and staging folders left out), or none when it does not exist yet. */
async function outEntries(out: string): Promise<string[]> {
  const info = await stat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw new NkError("IO", `cannot use --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  if (info === null) return [];
  if (!info.isDirectory()) throw new NkError("INVALID_ARGUMENT", `--out ${out} is a file, not a directory`);
  const names = await readdir(out).catch((err: unknown) => {
    throw new NkError("IO", `cannot read --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  return names.filter((n) => !n.startsWith(OUT_LOCK) && !n.startsWith(STAGING_PREFIX));
}

/** Staging folders of writers that died (the lock is held, so none is in use): they may hold an enroll-token. */
async function removeDeadStaging(out: string, warn: (line: string) => void): Promise<void> {
  for (const name of await readdir(out).catch(() => [])) {
    if (name.startsWith(STAGING_PREFIX)) await rm(join(out, name), { recursive: true, force: true }).catch(() => warn(`nkctl: could not remove ${join(out, name)}, left by an interrupted run`));
  }
}

/** Thrown between two steps once `signal` aborted (Ctrl-C); the caller undoes what was done. */
function stopIfInterrupted(signal: AbortSignal | undefined, message: string): void {
  if (signal?.aborted) throw new NkError("IO", message);
}

/**
 * Writes `<out>/<node>/<files>` all or nothing: every node into a staging folder inside `out` first, then each swapped
 * in by rename (the earlier folder renamed aside, so a failed or interrupted swap puts every node back as it was). An
 * earlier folder that cannot be removed afterwards is left beside the new one and named through `warn`. `signal`
 * (Ctrl-C) stops it between two files or two swaps, with `out` as it was: removed again if this run created it.
 */
export async function writeBundles(out: string, bundles: readonly BundleView[], force: boolean, warn: (line: string) => void = () => undefined, signal?: AbortSignal): Promise<void> {
  checkBundles(bundles);
  if ((await outEntries(out)).length > 0 && !force) throw new NkError("INVALID_ARGUMENT", `${out} is not empty (use --force to replace the node folders in it)`);
  const created = await mkdir(out, { recursive: true }).catch((err: unknown) => {
    throw new NkError("IO", `cannot create --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  // A folder this run created is removed again on a failure: "nothing in it was changed" would not be true of it.
  const notCreated = created === undefined ? undefined : `${out} was not created`;
  try {
    await writeLocked(out, bundles, force, warn, signal, notCreated);
  } catch (err) {
    throw created === undefined ? err : await removeCreatedOut(err, out, created, notCreated!);
  }
}

/**
 * After a failure, removes the `out` this run created. When it must stay (something else was put in it meanwhile: a
 * writer that waits for the lock), an error that said it was not created says instead that it was left, and why.
 */
async function removeCreatedOut(err: unknown, out: string, created: string, notCreated: string): Promise<unknown> {
  const stays = await removeCreatedDir(out, created);
  const message = errorMessage(err);
  if (stays === null || !message.endsWith(notCreated)) return err;
  const left = `${out} was created by this run but is left (${stays}): remove it if no nkctl is writing into it`;
  return new NkError(isNkError(err) ? err.code : "IO", `${message.slice(0, -notCreated.length)}${left}`, { cause: err });
}

async function writeLocked(out: string, bundles: readonly BundleView[], force: boolean, warn: (line: string) => void, signal: AbortSignal | undefined, notCreated: string | undefined): Promise<void> {
  // One writer at a time: two would each move the other's folders aside and back.
  const lock = await takePidLock(join(out, OUT_LOCK), { who: "nkctl", doing: `writing into ${out}`, wait: "wait for it to finish", busy: "INVALID_ARGUMENT" });
  try {
    // Under the lock: a writer that finished meanwhile may have filled it.
    if ((await outEntries(out)).length > 0 && !force) throw new NkError("INVALID_ARGUMENT", `${out} is not empty (use --force to replace the node folders in it)`);
    await removeDeadStaging(out, warn);
    await stageAndSwap(out, bundles, warn, signal, notCreated);
  } finally {
    await lock.release().catch((err: unknown) => warn(`nkctl: ${errorMessage(err)}`));
  }
}

/** `notCreated`: how a failure leaves an `out` this run created (removed again), in place of "nothing in it was changed". */
async function stageAndSwap(out: string, bundles: readonly BundleView[], warn: (line: string) => void, signal: AbortSignal | undefined, notCreated: string | undefined): Promise<void> {
  const unchanged = notCreated ?? `nothing in ${out} was changed`;
  // A fresh, unique folder (mode 0700): a leftover of an interrupted run under a reused pid (pid 1 in a container)
  // would otherwise have its files, an old enroll-token say, merged into this run's output.
  const staging = await mkdtemp(join(out, STAGING_PREFIX)).catch((err: unknown) => {
    throw new NkError("IO", `cannot write into --out ${out}: ${fsReason(err)}`, { cause: err });
  });
  const earlier: string[] = [];
  try {
    for (const b of bundles) {
      for (const f of b.files) {
        stopIfInterrupted(signal, `interrupted: ${unchanged}`);
        const path = join(staging, b.node, f.path);
        await mkdir(dirname(path), { recursive: true })
          .then(() => writeFile(path, f.content))
          .catch((err: unknown) => {
            throw new NkError("IO", `cannot write ${join(out, b.node, f.path)}: ${fsReason(err)}; ${unchanged}`, { cause: err });
          });
      }
      await mkdir(join(staging, b.node), { recursive: true });
    }
    await swapIn(out, staging, bundles, earlier, signal, notCreated);
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => warn(`nkctl: could not remove the staging folder ${staging}`));
  }
  for (const aside of earlier) {
    await rm(aside, { recursive: true, force: true }).catch((err: unknown) => warn(`nkctl: the earlier folder was replaced but could not be removed: ${aside} (${fsReason(err)})`));
  }
}

/** Renames each staged node folder into `out`, the earlier one aside (listed in `earlier`); undoes all on a failure. */
export async function swapIn(out: string, staging: string, bundles: readonly BundleView[], earlier: string[], signal?: AbortSignal, notCreated?: string): Promise<void> {
  const done: Array<{ node: string; aside: string | null }> = [];
  try {
    for (const b of bundles) {
      // Undone below like a failed swap: the message ends with how `out` was left.
      stopIfInterrupted(signal, "interrupted");
      const target = join(out, b.node);
      // Beside the target, not in the staging folder: moving a folder to another parent needs write access to it.
      // Named after the staging folder, so a leftover of another run is never in the way.
      const aside = join(out, `.${b.node}.earlier${staging.slice(staging.lastIndexOf("-"))}`);
      const had = await rename(target, aside).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") return false;
          throw new NkError("IO", `cannot replace ${target}: ${fsReason(err)}`, { cause: err });
        },
      );
      done.push({ node: b.node, aside: had ? aside : null });
      await rename(join(staging, b.node), target).catch((err: unknown) => {
        throw new NkError("IO", `cannot write ${target}: ${fsReason(err)}`, { cause: err });
      });
    }
  } catch (err) {
    const stuck: string[] = [];
    for (const { node, aside } of done.reverse()) {
      const target = join(out, node);
      await rename(target, join(staging, node)).catch((e: NodeJS.ErrnoException) => e.code === "ENOENT" || stuck.push(target));
      if (aside) await rename(aside, target).catch(() => stuck.push(`${aside} (the earlier ${node})`));
    }
    const how = stuck.length === 0 ? `; ${notCreated ?? `${out} is as it was`}` : `; putting the earlier folders back failed for: ${stuck.join(", ")}`;
    throw new NkError("IO", `${(err as Error).message}${how}`, { cause: err });
  }
  earlier.push(...done.flatMap((d) => (d.aside ? [d.aside] : [])));
}

/**
 * writeBundles for a command: Ctrl-C while it writes waits for `out` to be put back as it was, then exits 130
 * (resolves false; the error is printed). Other errors are thrown as they are.
 */
export async function writeBundlesFor(ctx: CliContext, out: string, bundles: readonly BundleView[], force: boolean): Promise<boolean> {
  const handled = ctx.handlesInterrupt;
  ctx.handlesInterrupt = true;
  try {
    await writeBundles(out, bundles, force, (line) => ctx.stderr.write(`${line}\n`), ctx.signal);
    return true;
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    ctx.stderr.write(`nkctl: ${(err as Error).message}\n`);
    ctx.exitCode = 130;
    return false;
  } finally {
    ctx.handlesInterrupt = handled;
  }
}

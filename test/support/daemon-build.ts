// Compiles the daemons and nkctl (tsconfig.build.json, as `npm run build` does) into a folder of their own, for
// runs that start many processes (the test suite, chaos:long): bin/*.js loads it through NK_DIST_DIR.
import { execFile } from "node:child_process";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(import.meta.dirname, "..", "..");

/** Builds into `dir`, which must lie inside the checkout so the build resolves the checkout's node_modules. */
export async function buildDaemons(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  try {
    await promisify(execFile)(tsc, ["-p", "tsconfig.build.json", "--outDir", dir], { cwd: ROOT, maxBuffer: 16 << 20 });
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? "";
    throw new Error(`the build (tsc -p tsconfig.build.json) failed:\n${out.slice(0, 4000)}`);
  }
  // The coordinator serves gRPC reflection from the .proto files, found beside its build as in the package.
  await symlink(join(ROOT, "proto"), join(dir, "proto"));
}

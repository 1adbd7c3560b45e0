// Loads a daemon's entry point: the compiled dist/ build (or $NK_DIST_DIR) when present, else the sources via tsx.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function launch(entry) {
  // NK_DIST_DIR: a long test run pins its own build, so edits to the sources while it runs do not change what runs.
  const pinned = process.env.NK_DIST_DIR;
  const built = join(pinned || join(root, "dist"), `${entry}.js`);
  if (pinned && !existsSync(built)) throw new Error(`NK_DIST_DIR=${pinned} has no ${entry}.js`);
  if (existsSync(built)) {
    await import(pathToFileURL(built).href);
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, `${entry}.ts`)).href);
}

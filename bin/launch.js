// Loads a daemon's entry point: the compiled dist/ build when present, else the sources via tsx.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function launch(entry) {
  const built = join(root, "dist", `${entry}.js`);
  if (existsSync(built)) {
    await import(pathToFileURL(built).href);
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, `${entry}.ts`)).href);
}

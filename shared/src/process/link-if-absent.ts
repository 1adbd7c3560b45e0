import { link } from "node:fs/promises";
import { NkError } from "../errors/index.js";
import { fsReason } from "../fs/index.js";

/** Links `file` in at `path` unless something is there already (link never replaces): true when it was linked. */
export async function linkIfAbsent(file: string, path: string): Promise<boolean> {
  return link(file, path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST") return false;
      throw new NkError("IO", `cannot create the lock ${path}: ${fsReason(err)}`, { cause: err });
    },
  );
}

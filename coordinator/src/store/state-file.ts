// Loading state.json at open: fresh dirs get an empty state written at once; a damaged file stops the start.
import { readFile } from "node:fs/promises";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { decodeState, emptyState, encodeState, type StoreState } from "./state-codec.js";

export const STATE_FILE = "state.json";

/** `eventSeq` is the journal's last seq: a used journal without state.json means state was lost. */
export async function loadState(path: string, eventSeq: number): Promise<StoreState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new NkError("IO", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    // Starting empty next to a used journal could reissue fencing tokens: refuse instead.
    if (eventSeq > 0) throw new NkError("STATE_CORRUPT", `${path} is missing but the event journal has ${eventSeq} events; restore ${path} from a backup, or move the whole state dir away to start afresh`);
    // Written at once, so from now on a missing state.json always means loss, never "fresh".
    const state = emptyState();
    await writeFileAtomic(path, encodeState(state), 0o600);
    return state;
  }
  return decodeState(text, path);
}

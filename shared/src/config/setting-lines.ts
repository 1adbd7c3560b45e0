// Where each setting sits in a config file's text, so an error can send the reader to the line to change.
import type { Node, Scalar } from "yaml";

/**
 * A lookup of a setting's line (1-based) by its path, for YAML or JSON text (JSON reads as YAML); undefined for a
 * setting the text does not hold. Only built when a check failed: the YAML library stays unloaded otherwise.
 */
export async function settingLines(text: string): Promise<(path: readonly string[]) => number | undefined> {
  const { LineCounter, isMap, isScalar, isSeq, parseDocument } = await import("yaml");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        offset = (pair?.key as Scalar | undefined)?.range?.[0];
        node = pair?.value;
      } else if (isSeq(node)) {
        node = node.items[Number(key)];
        offset = (node as Node | undefined)?.range?.[0];
      } else return undefined;
      if (offset === undefined) return undefined;
    }
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
}

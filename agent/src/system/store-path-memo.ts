// A fact about a store path, read once: a Nix store path never changes, so idle heartbeats need not ask again.

/** At most this many paths are remembered; beyond it the memo starts over (an agent sees a handful of systems). */
const MAX_PATHS = 64;

/** `read` remembered per store path; a failed read is not remembered (the next call reads again). */
export function memoPerStorePath<T>(read: (storePath: string) => Promise<T>): (storePath: string) => Promise<T> {
  const known = new Map<string, T>();
  return async (storePath) => {
    if (known.has(storePath)) return known.get(storePath)!;
    const value = await read(storePath);
    if (known.size >= MAX_PATHS) known.clear();
    known.set(storePath, value);
    return value;
  };
}

/** The value at `path` in parsed settings, or undefined where a key is missing or a parent is not a mapping or list. */
export function valueAt(settings: unknown, path: readonly string[]): unknown {
  let at: unknown = settings;
  for (const key of path) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined;
  return at;
}

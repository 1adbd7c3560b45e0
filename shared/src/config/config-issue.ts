// What a config check reports, and the schema shape the loader takes.

/** One problem: where (dot-path) and what was expected. A zod issue has this shape too. */
export interface ConfigIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /**
   * A rule across settings names every setting it reads, as absolute dot-paths, so the error can say which of them
   * the file and which the command line gave (the issue's path is only where the rule reports). A zod refine passes
   * it as `params`.
   */
  readonly params?: { readonly involves?: readonly string[] };
}

/**
 * What a config schema must offer: zod's `safeParse` shape, so the coordinator keeps its zod schema while the
 * agent, which idles on every node, checks its config by hand without loading zod.
 */
export interface ConfigSchema<T> {
  safeParse(raw: unknown): { success: true; data: T } | { success: false; error: { issues: readonly ConfigIssue[] } };
}

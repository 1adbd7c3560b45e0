// Nix sources that parsed: syntax depends on the text alone, so a push parses only its new or changed .nix files.
// At 1,000 nodes `nix-instantiate --parse` of every file was ~0.3-0.7 s of each push's wall time (issue 24).

export class NixSyntaxMemo {
  /** The texts that parsed in the last validated tree (replaced each time, so it stays the size of one tree). */
  private parsed = new Set<string>();

  /** The sources still to parse. */
  unknown<T extends { content: string }>(sources: readonly T[]): T[] {
    return sources.filter((s) => !this.parsed.has(s.content));
  }

  /** After a check: the texts of this tree that are known to parse (the remembered ones plus `parsedNow`). */
  keep(sources: ReadonlyArray<{ content: string }>, parsedNow: ReadonlyArray<{ content: string }>): void {
    const now = new Set(parsedNow.map((s) => s.content));
    this.parsed = new Set(sources.map((s) => s.content).filter((c) => this.parsed.has(c) || now.has(c)));
  }
}

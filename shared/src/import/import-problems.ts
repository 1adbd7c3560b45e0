// Collects every problem an importer finds in its input, then fails once with all of them.
import { NkError } from "../errors/index.js";

export interface ImportProblem {
  readonly file: string;
  readonly line: number;
  /** Column or dot-path the problem is about; empty for the whole line. */
  readonly field: string;
  readonly message: string;
}

export function formatProblem(p: ImportProblem): string {
  return `${p.file}:${p.line} ${p.field === "" ? "" : `${p.field}: `}${p.message}`;
}

export class ImportProblems {
  private readonly list: ImportProblem[] = [];

  add(file: string, line: number, field: string, message: string): void {
    this.list.push({ file, line, field, message });
  }

  get count(): number {
    return this.list.length;
  }

  /** Throws INVENTORY_INVALID listing every problem, one per line, in the order found. */
  throwIfAny(): void {
    if (this.list.length === 0) return;
    throw new NkError("INVENTORY_INVALID", this.list.map(formatProblem).join("\n"));
  }
}

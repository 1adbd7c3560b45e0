// Remembers the last inventory.yaml validated: a push that leaves it as it was (an edit under common/ or nodes/)
// skips the YAML parse with positions, most of a push's validation time at thousands of nodes.
import type { ValidateOptions, ValidationResult } from "./validate-repo.js";

/** The result for the same text and the same known secrets is the same: validateInventoryText is pure. */
export class InventoryTextMemo {
  private last: { text: string; secrets: string | null; result: ValidationResult } | null = null;

  validate(text: string, options: ValidateOptions, validate: (text: string, options: ValidateOptions) => ValidationResult): ValidationResult {
    const secrets = options.knownSecrets ? [...options.knownSecrets].sort().join("\n") : null;
    if (this.last && this.last.text === text && this.last.secrets === secrets) return this.last.result;
    const result = validate(text, options);
    this.last = { text, secrets, result };
    return result;
  }
}

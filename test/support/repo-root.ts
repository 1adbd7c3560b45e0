// Where the checkout is, for tests and benchmarks that run its bin/ scripts or copy its example inventory.
import { join } from "node:path";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname;
export const EXAMPLE_DIR = join(REPO_ROOT, "examples/homelab");

// Public surface of nkctl: the pieces other code and tests may use (main.ts runs the CLI when imported).
export { buildProgram } from "./program.js";
export { reportError, runCli } from "./run-cli.js";
export { EXIT, exitCodeFor, EXIT_CODES_HELP } from "./exit-codes.js";
export { configFilePath, loadConnection, normalizeAddress, parseConfigFile, planConnection, type Connection, type ConnectionFlags, type ConnectionPlan, type FileConfig } from "./config.js";
export { createAdminClient, toNkError, withAdmin, type AdminApi } from "./admin-client.js";
export { formatTable, formatJson, formatAgo, formatDuration, formatDeadline } from "./output.js";
export { readRepoDir } from "./repo-files.js";
export { readGitTree, resolveRevision, type GitTree } from "./git-tree.js";
export type { CliContext, GlobalOptions, OutputFormat } from "./cli-context.js";

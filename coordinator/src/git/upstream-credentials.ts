// Credentials for fetching a private upstream, from files: git asks an askpass script (HTTPS) or ssh gets -i (SSH).
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readSecretFile } from "../../../shared/src/config/index.js";
import { NkError } from "../../../shared/src/errors/index.js";

export interface UpstreamCredentials {
  /** HTTP user name; default "git" (forges take any name with a token). */
  readonly username?: string;
  /** File holding the HTTP password or access token (first line). */
  readonly passwordFile?: string;
  /** Private key for an ssh:// upstream. */
  readonly sshKeyFile?: string;
  /** known_hosts with the upstream's host key; ssh checks it strictly. */
  readonly sshKnownHostsFile?: string;
}

/**
 * Prints the user name, or the password file's first line, to git. Only file names travel, in the
 * environment: the secret itself is never in an argv, an environment, a log or this script.
 */
export const ASKPASS_SCRIPT = `#!/bin/sh
# nk-coordinator's GIT_ASKPASS: answers git's prompts for the upstream from files (see upstream-credentials.ts).
case "$1" in
  Username*) printf '%s\\n' "$NK_UPSTREAM_USERNAME" ;;
  *) IFS= read -r line < "$NK_UPSTREAM_PASSWORD_FILE" || [ -n "$line" ] || exit 1
     printf '%s\\n' "$line" ;;
esac
`;

/** Single quotes for sh (GIT_SSH_COMMAND goes through the shell). */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The exact ssh command line git runs for an ssh:// upstream. */
export function sshCommand(keyFile: string, knownHostsFile: string): string {
  return [
    "ssh",
    "-i", shellQuote(keyFile),
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", shellQuote(`UserKnownHostsFile=${knownHostsFile}`),
    "-o", "BatchMode=yes",
  ].join(" ");
}

/**
 * The environment that makes git authenticate to the upstream. Checks now that each file can be
 * read (a clear error at start, not a failed fetch later), and writes the askpass script into
 * `runDir` (0700) when a password file is configured.
 */
export async function upstreamAuthEnv(credentials: UpstreamCredentials, runDir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (credentials.passwordFile !== undefined) {
    await readSecretFile(credentials.passwordFile, "upstream password");
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    await chmod(runDir, 0o700);
    const script = join(runDir, "git-askpass");
    await writeFile(script, ASKPASS_SCRIPT, { mode: 0o700 });
    await chmod(script, 0o700);
    Object.assign(env, { GIT_ASKPASS: script, NK_UPSTREAM_USERNAME: credentials.username ?? "git", NK_UPSTREAM_PASSWORD_FILE: credentials.passwordFile });
  }
  if (credentials.sshKeyFile !== undefined) {
    await readSecretFile(credentials.sshKeyFile, "upstream ssh key");
    if (credentials.sshKnownHostsFile === undefined) {
      throw new NkError("CONFIG_INVALID", "source.sshKnownHostsFile is required with source.sshKeyFile: ssh checks the upstream's host key against it");
    }
    await readSecretFile(credentials.sshKnownHostsFile, "upstream known_hosts");
    env.GIT_SSH_COMMAND = sshCommand(credentials.sshKeyFile, credentials.sshKnownHostsFile);
  }
  return env;
}

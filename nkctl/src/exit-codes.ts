// nkctl's exit codes and the one mapping from errors to them (used by the top-level catch).
import { isNkError, type NkErrorCode } from "../../shared/src/errors/index.js";

export const EXIT = {
  OK: 0,
  /** validate found errors, diff --exit-code found differences, an importer rejected its input, a plan has a failed build. */
  PROBLEMS: 1,
  USAGE: 2,
  /** Cannot reach or authenticate with the coordinator. */
  UNREACHABLE: 3,
  /** A node, revision, lease or secret does not exist. */
  NOT_FOUND: 4,
  OTHER: 5,
} as const;

const BY_CODE: Partial<Record<NkErrorCode, number>> = {
  INVENTORY_INVALID: EXIT.PROBLEMS,
  INVALID_ARGUMENT: EXIT.USAGE,
  CONFIG_INVALID: EXIT.USAGE,
  UNAVAILABLE: EXIT.UNREACHABLE,
  UNAUTHENTICATED: EXIT.UNREACHABLE,
  PERMISSION_DENIED: EXIT.UNREACHABLE,
  NOT_LEADER: EXIT.UNREACHABLE,
  NODE_UNKNOWN: EXIT.NOT_FOUND,
  REVISION_UNKNOWN: EXIT.NOT_FOUND,
  LEASE_UNKNOWN: EXIT.NOT_FOUND,
  SECRET_UNKNOWN: EXIT.NOT_FOUND,
};

export function exitCodeFor(err: unknown): number {
  return isNkError(err) ? (BY_CODE[err.code] ?? EXIT.OTHER) : EXIT.OTHER;
}

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  problems found: validate/render saw inventory errors, diff --exit-code saw differences,
     import rejected its input, lease release was refused, plan has a failed build
  2  usage error (bad flag or argument, invalid config)
  3  cannot reach or authenticate with the coordinator
  4  not found (node, revision, lease, secret)
  5  any other error
  130  interrupted (Ctrl-C); events -f ends with 0`;

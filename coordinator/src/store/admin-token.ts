// The admin (nkctl) token: taken from config, or generated once into <stateDir>/admin.token with mode 0600.
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { generateToken } from "./token-hash.js";

export const ADMIN_TOKEN_FILE = "admin.token";
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/**
 * Returns the admin token: `configured` when given (read by config from a `*File`), else the one
 * in admin.token, created on first start. A short or empty token is refused rather than used.
 */
export async function ensureAdminToken(stateDir: string, options: { configured?: string } = {}): Promise<string> {
  if (options.configured !== undefined) return checked(options.configured.trim(), "adminTokenFile", "CONFIG_INVALID");
  const file = join(stateDir, ADMIN_TOKEN_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new NkError("IO", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (text !== undefined) {
    // An operator may have copied the file in with a looser mode.
    await chmod(file, 0o600);
    return checked(text.trim(), file, "STATE_CORRUPT");
  }
  const token = generateToken();
  await writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}

function checked(token: string, source: string, code: "CONFIG_INVALID" | "STATE_CORRUPT"): string {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) throw new NkError(code, `${source}: the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. from: openssl rand -hex 32)`);
  return token;
}

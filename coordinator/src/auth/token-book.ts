// Scoped API tokens: created with a role, shown once, kept only as hashes, revocable; plus the bootstrap admin token.
import { NkError } from "../../../shared/src/errors/index.js";
import { generateToken, hashToken, tokensEqual, verifyToken } from "../store/token-hash.js";
import { isRole, ROLES, type Principal, type Role } from "./roles.js";

/**
 * The token records live in the store's secret area under this reserved name, so both stores keep them
 * durably (and etcd seals them at rest) without a schema of their own. Operators cannot set, list or
 * reference secrets under the `nk.` prefix.
 */
export const TOKENS_SECRET = "nk.api-tokens";
export const RESERVED_SECRET_PREFIX = "nk.";
/** The name audit lines and errors give the bootstrap admin token. */
export const BOOTSTRAP_ADMIN = "admin";
const TOKEN_NAME = /^[a-z0-9]([a-z0-9._-]{0,62})$/;

export interface TokenRecord {
  readonly name: string;
  readonly role: Role;
  readonly tokenHash: string;
  readonly createdAtMs: number;
}

export interface TokenSecrets {
  getSecret(name: string): Promise<Buffer | undefined>;
  setSecret(name: string, value: Buffer): Promise<void>;
}

function decode(raw: Buffer | undefined): TokenRecord[] {
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new NkError("STATE_CORRUPT", `the stored API tokens (${TOKENS_SECRET}) are not JSON: ${(err as Error).message}`);
  }
  const list = (parsed as { tokens?: unknown }).tokens;
  if (!Array.isArray(list)) throw new NkError("STATE_CORRUPT", `the stored API tokens (${TOKENS_SECRET}) have no "tokens" list`);
  return list.map((t: Partial<TokenRecord>, i) => {
    if (typeof t.name !== "string" || typeof t.role !== "string" || !isRole(t.role) || typeof t.tokenHash !== "string" || typeof t.createdAtMs !== "number") {
      throw new NkError("STATE_CORRUPT", `the stored API token #${i} is malformed`);
    }
    return { name: t.name, role: t.role, tokenHash: t.tokenHash, createdAtMs: t.createdAtMs };
  });
}

export class TokenBook {
  constructor(
    private readonly secrets: TokenSecrets,
    /** Read on each call, so a configured admin token file is what counts. */
    private readonly bootstrapAdmin: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Read from the store on every call: a revoked token is refused at once, on every coordinator. */
  async list(): Promise<TokenRecord[]> {
    return decode(await this.secrets.getSecret(TOKENS_SECRET));
  }

  async create(name: string, role: string): Promise<{ record: TokenRecord; token: string }> {
    if (!TOKEN_NAME.test(name)) throw new NkError("INVALID_ARGUMENT", `"${name}" is not a valid token name (lower-case letters, digits, '.', '_', '-'; at most 63)`);
    if (name === BOOTSTRAP_ADMIN) throw new NkError("INVALID_ARGUMENT", `"${BOOTSTRAP_ADMIN}" names the bootstrap admin token; choose another name`);
    if (!isRole(role)) throw new NkError("INVALID_ARGUMENT", `"${role}" is not a role: use ${ROLES.join(", ")}`);
    const tokens = await this.list();
    if (tokens.some((t) => t.name === name)) throw new NkError("INVALID_ARGUMENT", `a token named "${name}" exists; revoke it first or choose another name`);
    const token = generateToken();
    const record: TokenRecord = { name, role, tokenHash: hashToken(token), createdAtMs: Math.floor(this.now()) };
    await this.write([...tokens, record]);
    return { record, token };
  }

  async revoke(name: string): Promise<boolean> {
    const tokens = await this.list();
    const kept = tokens.filter((t) => t.name !== name);
    if (kept.length === tokens.length) return false;
    await this.write(kept);
    return true;
  }

  /** The principal a presented token stands for, or null; every stored hash is compared, in constant time each. */
  async identify(presented: string): Promise<Principal | null> {
    if (presented.length === 0) return null;
    const admin = this.bootstrapAdmin();
    let found: Principal | null = admin.length > 0 && tokensEqual(admin, presented) ? { name: BOOTSTRAP_ADMIN, role: "admin" } : null;
    let stored: TokenRecord[];
    try {
      stored = await this.list();
    } catch (err) {
      // The store is out of reach (an etcd outage): the bootstrap admin token, which lives in a file, still
      // works so operators can see status; scoped tokens fail closed until their records can be read.
      if (found) return found;
      throw err;
    }
    for (const t of stored) if (verifyToken(t.tokenHash, presented) && !found) found = { name: t.name, role: t.role };
    return found;
  }

  private async write(tokens: TokenRecord[]): Promise<void> {
    await this.secrets.setSecret(TOKENS_SECRET, Buffer.from(JSON.stringify({ tokens })));
  }
}

// Where nkctl finds its coordinator, admin token and CA: flags > environment > ~/.config/nk/config.yaml.
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { isTokenText } from "../../shared/src/config/index.js";
import { NkError } from "../../shared/src/errors/index.js";
import type { CliContext } from "./cli-context.js";
import { fsReason } from "../../shared/src/fs/index.js";

export const DEFAULT_PORT = 7443;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/;
const FILE_KEYS = ["coordinator", "tokenFile", "caFile"] as const;

export interface ConnectionFlags {
  readonly coordinator?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly insecure?: boolean;
}

/** config.yaml, with paths already made absolute (relative ones are relative to the file). */
export interface FileConfig {
  readonly coordinator?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
}

/** What to connect to and where each part came from (named in error messages). */
export interface ConnectionPlan {
  readonly address: string;
  readonly addressFrom: string;
  readonly token: { readonly value: string } | { readonly file: string };
  readonly tokenFrom: string;
  readonly tls: { readonly caFile: string; readonly from: string } | "insecure";
}

export interface Connection {
  readonly address: string;
  readonly token: string;
  /** PEM of the pinned CA; null for plaintext (--insecure). */
  readonly caPem: Buffer | null;
}

export function configFilePath(env: CliContext["env"], home: string): string {
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, ".config");
  return join(base, "nk", "config.yaml");
}

/** host:port with the default port added; null when the text is not an address. */
export function normalizeAddress(text: string): string | null {
  const m = HOST_PORT.exec(text.trim());
  if (!m) return null;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return null;
  return m[2] === undefined ? `${m[1]}:${DEFAULT_PORT}` : `${m[1]}:${m[2]}`;
}

/** Parses config.yaml; every problem at once, as `<file>:<line>:<col> <field>: <message>`. */
export function parseConfigFile(text: string, path: string): FileConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  const at = (offset: number | undefined, field: string, message: string): void => {
    const pos = lines.linePos(offset ?? 0);
    problems.push(`${path}:${pos.line}:${pos.col} ${field ? `${field}: ` : ""}${message}`);
  };
  for (const err of doc.errors) at(err.pos[0], "", `YAML: ${err.message.split("\n")[0]}`);
  const out: Record<string, string> = {};
  if (doc.errors.length === 0 && doc.contents !== null) {
    if (!isMap(doc.contents)) at(doc.contents.range?.[0], "", `expected a mapping with ${FILE_KEYS.join(", ")}`);
    else {
      for (const pair of doc.contents.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        const keyAt = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        if (!(FILE_KEYS as readonly string[]).includes(key)) {
          at(keyAt, key, `unknown key (expected one of ${FILE_KEYS.join(", ")})`);
          continue;
        }
        const value = isScalar(pair.value) ? pair.value.value : undefined;
        const valueAt = (pair.value as { range?: number[] } | null)?.range?.[0] ?? keyAt;
        if (typeof value !== "string" || value.trim() === "") at(valueAt, key, "expected a non-empty string");
        else if (key === "coordinator" && normalizeAddress(value) === null) at(valueAt, key, "expected host:port, e.g. coordinator.lan:7443");
        else out[key] = key === "coordinator" ? value.trim() : resolve(dirname(path), value);
      }
    }
  }
  if (problems.length > 0) throw new NkError("CONFIG_INVALID", `invalid config file:\n${problems.join("\n")}`);
  return out;
}

function addressOrThrow(text: string, from: string): string {
  const address = normalizeAddress(text);
  if (address === null) throw new NkError("CONFIG_INVALID", `${from}: "${text}" is not host:port (e.g. coordinator.lan:7443)`);
  return address;
}

/** Pure: picks each setting by precedence (flags > env > file) and says where it came from. */
export function planConnection(flags: ConnectionFlags, env: CliContext["env"], file: FileConfig | null, filePath: string, cwd: string): ConnectionPlan {
  const fromFile = (key: string): string => `${key} in ${filePath}`;
  let address: string;
  let addressFrom: string;
  if (flags.coordinator !== undefined) [address, addressFrom] = [addressOrThrow(flags.coordinator, "--coordinator"), "--coordinator"];
  else if (env.NK_COORDINATOR) [address, addressFrom] = [addressOrThrow(env.NK_COORDINATOR, "NK_COORDINATOR"), "NK_COORDINATOR"];
  else if (file?.coordinator !== undefined) [address, addressFrom] = [addressOrThrow(file.coordinator, fromFile("coordinator")), fromFile("coordinator")];
  else throw new NkError("CONFIG_INVALID", `no coordinator: pass --coordinator host:port, set NK_COORDINATOR, or put coordinator: in ${filePath}`);

  let token: ConnectionPlan["token"];
  let tokenFrom: string;
  // A value beats a pointer to one at the same level, so NK_TOKEN wins over NK_TOKEN_FILE.
  if (flags.tokenFile !== undefined) [token, tokenFrom] = [{ file: resolve(cwd, flags.tokenFile) }, "--token-file"];
  else if (env.NK_TOKEN) [token, tokenFrom] = [{ value: env.NK_TOKEN }, "NK_TOKEN"];
  else if (env.NK_TOKEN_FILE) [token, tokenFrom] = [{ file: resolve(cwd, env.NK_TOKEN_FILE) }, "NK_TOKEN_FILE"];
  else if (file?.tokenFile !== undefined) [token, tokenFrom] = [{ file: file.tokenFile }, fromFile("tokenFile")];
  else throw new NkError("CONFIG_INVALID", `no admin token: pass --token-file, set NK_TOKEN or NK_TOKEN_FILE, or put tokenFile: in ${filePath}`);

  if (flags.insecure && flags.caFile !== undefined) throw new NkError("INVALID_ARGUMENT", "--insecure and --ca-file exclude each other");
  let tls: ConnectionPlan["tls"];
  if (flags.insecure) tls = "insecure";
  else if (flags.caFile !== undefined) tls = { caFile: resolve(cwd, flags.caFile), from: "--ca-file" };
  else if (env.NK_CA_FILE) tls = { caFile: resolve(cwd, env.NK_CA_FILE), from: "NK_CA_FILE" };
  else if (file?.caFile !== undefined) tls = { caFile: file.caFile, from: fromFile("caFile") };
  else throw new NkError("CONFIG_INVALID", `no CA certificate: pass --ca-file (the coordinator's <stateDir>/tls/ca.crt), set NK_CA_FILE, or put caFile: in ${filePath}`);
  return { address, addressFrom, token, tokenFrom, tls };
}

async function readSetting(path: string, what: string, from: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new NkError("CONFIG_INVALID", `cannot read the ${what} ${path} (from ${from}): ${fsReason(err)}`, { cause: err });
  }
}

/** The token as it goes on the wire: trimmed, printable ASCII, not empty. */
export function checkToken(raw: string, from: string): string {
  const token = raw.trim();
  if (token === "") throw new NkError("CONFIG_INVALID", `the admin token from ${from} is empty`);
  if (!isTokenText(token)) throw new NkError("CONFIG_INVALID", `the admin token from ${from} contains spaces or non-ASCII characters`);
  return token;
}

/** Reads the config file (if any), plans the connection and reads the token and CA it names. */
export async function loadConnection(flags: ConnectionFlags, ctx: Pick<CliContext, "env" | "home" | "cwd">): Promise<Connection> {
  const filePath = configFilePath(ctx.env, ctx.home);
  let file: FileConfig | null = null;
  try {
    file = parseConfigFile(await readFile(filePath, "utf8"), filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      if (err instanceof NkError) throw err;
      throw new NkError("CONFIG_INVALID", `cannot read ${filePath}: ${(err as Error).message}`, { cause: err });
    }
  }
  const plan = planConnection(flags, ctx.env, file, filePath, ctx.cwd);
  const raw = "value" in plan.token ? plan.token.value : (await readSetting(plan.token.file, "token file", plan.tokenFrom)).toString("utf8");
  const token = checkToken(raw, "value" in plan.token ? plan.tokenFrom : `${plan.token.file} (from ${plan.tokenFrom})`);
  const caPem = plan.tls === "insecure" ? null : await readSetting(plan.tls.caFile, "CA file", plan.tls.from);
  if (caPem !== null && !caPem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new NkError("CONFIG_INVALID", `the CA file ${plan.tls === "insecure" ? "" : plan.tls.caFile} holds no PEM certificate`);
  }
  return { address: plan.address, token, caPem };
}

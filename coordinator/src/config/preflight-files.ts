// Every file the config names, and the state directory, checked before the coordinator writes anything: a missing
// kubeconfig or password file used to be found only after the state directory, its CA and admin token were created.
import { readFile, stat } from "node:fs/promises";
import { readSecretFile, readTokenFile, secretFileExposure } from "../../../shared/src/config/index.js";
import { NkError } from "../../../shared/src/errors/index.js";
import { fsReason } from "../../../shared/src/fs/index.js";
import { MIN_ADMIN_TOKEN_LENGTH } from "../store/admin-token.js";
import type { CoordinatorConfig } from "./coordinator-config.js";

/** The files the config names, by setting: secrets (read as such, never shown) and plain ones. */
function namedFiles(config: CoordinatorConfig): { secrets: Array<[string, string]>; plain: Array<[string, string]> } {
  const secrets: Array<[string, string | undefined]> = [];
  const plain: Array<[string, string | undefined]> = [["kubeconfigFile", config.kubeconfigFile]];
  if (config.source.kind === "upstream") {
    const s = config.source;
    secrets.push(["source.passwordFile", s.passwordFile], ["source.sshKeyFile", s.sshKeyFile], ["source.webhookSecretFile", s.webhookSecretFile]);
    plain.push(["source.sshKnownHostsFile", s.sshKnownHostsFile]);
  }
  if (config.store.kind === "etcd") {
    const e = config.store;
    secrets.push(["store.auth.passwordFile", e.auth?.passwordFile], ["store.tls.keyFile", e.tls?.keyFile], ["store.secretsKeyFile", e.secretsKeyFile]);
    plain.push(["store.tls.caFile", e.tls?.caFile], ["store.tls.certFile", e.tls?.certFile]);
  }
  const given = (list: Array<[string, string | undefined]>): Array<[string, string]> => list.flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]]));
  return { secrets: given(secrets), plain: given(plain) };
}

/**
 * Throws CONFIG_INVALID naming the setting; resolves with the configured admin token, if any, and a warning for each
 * secret's file that every user of the machine may read (started all the same: the operator is told how to fix it).
 */
export async function preflightFiles(config: CoordinatorConfig): Promise<{ adminToken?: string; warnings: string[] }> {
  const state = await stat(config.stateDir).catch(() => null);
  if (state && !state.isDirectory()) throw new NkError("CONFIG_INVALID", `stateDir ${config.stateDir} exists but is not a directory`);
  const { secrets, plain } = namedFiles(config);
  for (const [setting, path] of secrets) await readSecretFile(path, setting);
  const warnings = async (): Promise<string[]> => {
    const all = [...secrets, ...(config.adminTokenFile === undefined ? [] : [["adminTokenFile", config.adminTokenFile] as [string, string]])];
    return (await Promise.all(all.map(([setting, path]) => secretFileExposure(path, setting)))).filter((w): w is string => w !== undefined);
  };
  for (const [setting, path] of plain) {
    await readFile(path).catch((err: unknown) => {
      throw new NkError("CONFIG_INVALID", `cannot read ${setting} ${path}: ${fsReason(err)}`, { cause: err });
    });
  }
  if (config.adminTokenFile === undefined) return { warnings: await warnings() };
  const adminToken = await readTokenFile(config.adminTokenFile, "adminTokenFile", "write only the token, one word of at least 32 characters (e.g. from: openssl rand -hex 32)");
  // The same bound ensureAdminToken holds it to, checked before anything is written.
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) throw new NkError("CONFIG_INVALID", `adminTokenFile ${config.adminTokenFile}: the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. from: openssl rand -hex 32)`);
  return { adminToken, warnings: await warnings() };
}

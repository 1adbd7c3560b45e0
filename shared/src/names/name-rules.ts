// The name rules every part checks against: node names (DNS labels) and secret names, in one place.
import { NkError } from "../errors/index.js";

/** A DNS label (RFC 1123): what Kubernetes, hostnames and nk's node, cluster and namespace names share. */
export const DNS_LABEL_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
export const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);
export const NODE_NAME_RULE = "a DNS label: lower-case letters, digits and '-', at most 63 characters";

/**
 * Secret names: the agent writes each secret as a file of that name, and inventories refer to them, so they are
 * lower-case, start with a letter or digit, at most 63 characters, and never contain "..".
 */
export const SECRET_NAME = /^(?!.*\.\.)[a-z0-9][a-z0-9._-]{0,62}$/;
export const SECRET_NAME_RULE = "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters";

/** Preview names: the part after refs/heads/preview/, and a directory name on every node, so the secret-name rule. */
export const PREVIEW_NAME_RULE = SECRET_NAME_RULE;

export function isPreviewName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function assertPreviewName(name: string): void {
  if (!isPreviewName(name)) throw new NkError("INVALID_ARGUMENT", `invalid preview name ${JSON.stringify(name)}: ${PREVIEW_NAME_RULE}`);
}

export function isNodeName(name: string): boolean {
  return DNS_LABEL.test(name);
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function assertNodeName(name: string): void {
  if (!isNodeName(name)) throw new NkError("INVALID_ARGUMENT", `invalid node name ${JSON.stringify(name)}: ${NODE_NAME_RULE}`);
}

export function assertSecretName(name: string): void {
  if (!isSecretName(name)) throw new NkError("INVALID_ARGUMENT", `invalid secret name ${JSON.stringify(name)}: ${SECRET_NAME_RULE}`);
}

// Authenticates every call: agents by their node token, nkctl by a scoped API token (or the bootstrap admin token).
import type { Metadata } from "@grpc/grpc-js";
import { NkError } from "../../../shared/src/errors/index.js";
import { AUTH_HEADER, NODE_HEADER } from "../../../shared/src/wire/index.js";
import { isNodeName } from "../../../shared/src/names/index.js";
import type { Principal } from "../auth/index.js";

export interface NodeTokenVerifier {
  verifyNodeToken(name: string, token: string): Promise<boolean>;
}

function single(metadata: Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  return values.length === 1 && typeof values[0] === "string" ? values[0] : undefined;
}

function bearerToken(metadata: Metadata): string {
  const header = single(metadata, AUTH_HEADER);
  const match = header?.match(/^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/);
  if (!match) throw new NkError("UNAUTHENTICATED", "missing or malformed bearer token");
  return match[1]!;
}

/** Returns the calling node's name; the token must belong to exactly that node. */
export async function authenticateNode(metadata: Metadata, verifier: NodeTokenVerifier): Promise<string> {
  const token = bearerToken(metadata);
  const node = single(metadata, NODE_HEADER);
  if (!node || !isNodeName(node)) throw new NkError("UNAUTHENTICATED", `missing or invalid ${NODE_HEADER} header`);
  if (!(await verifier.verifyNodeToken(node, token))) throw new NkError("UNAUTHENTICATED", `invalid token for node "${node}" (unknown node or wrong token)`);
  return node;
}

/** A request naming another node than the caller's is refused: a node reads only its own state. */
export function requireSameNode(caller: string, requested: string): void {
  if (requested !== "" && requested !== caller) {
    throw new NkError("PERMISSION_DENIED", `node "${caller}" may not act for node "${requested}"`);
  }
}

/** Resolves the caller's API token to its principal; the service then checks the method's role (roles.ts). */
export function adminAuthorizer(tokens: { identify(token: string): Promise<Principal | null> }): (metadata: Metadata) => Promise<Principal> {
  return async (metadata) => {
    const principal = await tokens.identify(bearerToken(metadata));
    if (!principal) throw new NkError("UNAUTHENTICATED", "invalid admin token (unknown, revoked or mistyped)");
    return principal;
  };
}

// gRPC metadata names for authentication, shared by the clients and the coordinator.

/** `authorization: Bearer <token>`: a node token for AgentService, the admin token for AdminService. */
export const AUTH_HEADER = "authorization";
/** The calling node's name; its token must belong to it. */
export const NODE_HEADER = "nk-node";

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

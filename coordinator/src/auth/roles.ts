// Token roles and what each may do: admin ⊇ operator (leases, rollout, push) ⊇ viewer (read-only API, status page, clone).
import { NkError } from "../../../shared/src/errors/index.js";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who made a call: the token's name ("admin" for the bootstrap admin token) and its role. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** True when `role` covers `need` (each role includes the ones before it in ROLES). */
export function roleAllows(role: Role, need: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(need);
}

/**
 * The role each AdminService method needs. A method missing here is refused to everyone but admin, so a new
 * RPC is never readable by a viewer by accident.
 */
export const GRPC_METHOD_ROLES: Readonly<Record<string, Role>> = {
  GetStatus: "viewer",
  ListNodes: "viewer",
  ListLeases: "viewer",
  WatchEvents: "viewer",
  Render: "viewer",
  Diff: "viewer",
  GetManifests: "viewer",
  DiffManifests: "viewer",
  ListPlans: "viewer",
  GetPlan: "viewer",
  GetBuildLog: "viewer",
  ListSecrets: "operator",
  ReleaseLease: "operator",
  PauseRollout: "operator",
  ResumeRollout: "operator",
  ApproveRollout: "operator",
  ApplyManifests: "operator",
  DeletePlan: "operator",
  EnrollNode: "admin",
  SetSecret: "admin",
  CreateToken: "admin",
  ListTokens: "admin",
  RevokeToken: "admin",
  RotateNodeToken: "admin",
};

export function methodRole(method: string): Role {
  return GRPC_METHOD_ROLES[method] ?? "admin";
}

/** Throws PERMISSION_DENIED naming the token, its role and what was needed. */
export function requireRole(principal: Principal, need: Role, what: string): void {
  if (!roleAllows(principal.role, need)) {
    throw new NkError("PERMISSION_DENIED", `token "${principal.name}" has role ${principal.role}; ${what} needs ${need}`);
  }
}

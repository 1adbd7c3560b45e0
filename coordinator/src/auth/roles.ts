// Token roles and what each may do: admin ⊇ operator (leases, rollout, push) ⊇ viewer (read-only API, status page,
// clone); apart from them, fleetlock only takes and gives back FleetLock reboot slots (zincati), as operators may too.
import { NkError } from "../../../shared/src/errors/index.js";

export const ROLES = ["viewer", "operator", "admin", "fleetlock"] as const;
export type Role = (typeof ROLES)[number];

/** Who made a call: the token's name ("admin" for the bootstrap admin token) and its role. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** The ranked roles, each including the ones before it. */
const RANKED: readonly Role[] = ["viewer", "operator", "admin"];

/**
 * True when `role` covers `need`. A fleetlock token covers nothing else, not even viewing: it sits in a host's
 * zincati config. Taking a reboot slot disrupts a host, an operator's action.
 */
export function roleAllows(role: Role, need: Role): boolean {
  if (need === "fleetlock") return role === "fleetlock" || roleAllows(role, "operator");
  if (role === "fleetlock") return false;
  return RANKED.indexOf(role) >= RANKED.indexOf(need);
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
  EnrollNodes: "admin",
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

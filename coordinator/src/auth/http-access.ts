// The HTTP side's token check: Bearer or Basic (password = token), resolved to a principal and checked against a role.
import type { IncomingHttpHeaders } from "node:http";
import { presentedCredentials } from "../git/git-auth.js";
import { roleAllows, type Principal, type Role } from "./roles.js";

export type AccessVerdict = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly status: 401 | 403; readonly message: string; readonly actor?: string };

/** Normalises an authenticator's answer: a bare boolean (tests, simple setups) or a verdict. */
export function verdictOf(answer: boolean | AccessVerdict): AccessVerdict {
  if (typeof answer !== "boolean") return answer;
  return answer ? { ok: true, principal: { name: "admin", role: "admin" } } : { ok: false, status: 401, message: "a valid token is required (Authorization: Bearer <token>)" };
}

export function httpAccess(tokens: { identify(token: string): Promise<Principal | null> }): (req: { headers: IncomingHttpHeaders }, need: Role) => Promise<AccessVerdict> {
  return async (req, need) => {
    const principal = await tokens.identify(presentedCredentials(req.headers)?.token ?? "");
    if (!principal) return { ok: false, status: 401, message: "a valid token is required (Authorization: Bearer <token>, or the token as the git password)" };
    if (!roleAllows(principal.role, need)) return { ok: false, status: 403, message: `token "${principal.name}" has role ${principal.role}; this needs ${need}`, actor: principal.name };
    return { ok: true, principal };
  };
}

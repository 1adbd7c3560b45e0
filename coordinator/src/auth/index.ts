// Public surface of coordinator/auth: token roles, the token book, and the checks both transports share.
export { GRPC_METHOD_ROLES, ROLES, isRole, methodRole, requireRole, roleAllows, type Principal, type Role } from "./roles.js";
export { BOOTSTRAP_ADMIN, RESERVED_SECRET_PREFIX, TOKENS_SECRET, TokenBook, type TokenRecord, type TokenSecrets } from "./token-book.js";
export { httpAccess, verdictOf, type AccessVerdict } from "./http-access.js";
export { AUDIT_EVENT_KIND, auditEvent, auditTarget, type AuditEntry } from "./audit.js";

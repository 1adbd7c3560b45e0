// Public surface of coordinator/git: the bare inventory repo, smart HTTP, push hooks, validation and follow mode.
export { GitRepo, MAIN_REF, UPSTREAM_REF, ZERO_SHA, type CommitInfo, type CommitOptions, type QuarantineEnv } from "./git-repo.js";
export { removeStaleLocks, STALE_LOCK_MS, STALE_LOCKS_REMOVED } from "./stale-locks.js";
export { MAX_INVENTORY_FILE_BYTES, MAX_TREE_ENTRIES, MAX_TREE_FILE_BYTES, MAX_TREE_TOTAL_BYTES, type SkippedFile, type TreeSnapshot } from "./tree-snapshot.js";
export { gitHttpPlugin, gitHttpBackendPath, DEFAULT_MAX_PUSH_BYTES, type GitHttpOptions } from "./git-http.js";
export { adminTokenAuthenticator, constantTimeEqual, presentedCredentials, GIT_AUTH_REALM, type PresentedCredentials } from "./git-auth.js";
export { HookServer, PREVIEW_REF_PREFIX, previewNameOf, refPolicy, type HookServerOptions, type HookVerdict, type ReadPushedTree, type RefUpdate } from "./hook-server.js";
export { installHooks, HOOK_NAMES, type HookName } from "./hook-script.js";
export { NixSyntaxMemo } from "./nix-syntax-memo.js";
export { validatePushedTree, nixDiagnostic, type PushValidation, type PushValidationOptions } from "./validate-pushed-tree.js";
export { UpstreamFollower, redactUrl, type SyncResult, type SyncStatus, type UpstreamFollowerOptions } from "./upstream-follower.js";
export { upstreamAuthEnv, sshCommand, ASKPASS_SCRIPT, type UpstreamCredentials } from "./upstream-credentials.js";
export { upstreamWebhookPlugin, verifyHubSignature, type UpstreamWebhookOptions } from "./upstream-webhook.js";
export { storeRevisionAhead } from "./store-revision-ahead.js";

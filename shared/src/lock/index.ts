// Public surface of shared/lock: nk.lock (read, checked, written) and the locked inputs of a bundle.
export { LOCK_FILE, LOCK_VERSION, parseNkLock, renderNkLock, type LockedInput, type NkLock, type ParsedNkLock } from "./nk-lock.js";
export { originalAttrs, unlockedReason, SRI_SHA256, type FlakeAttrs } from "./flake-ref.js";
export { bundleInputs, lockDiagnostics, readLock, wantedUrls, PIN_FIX, type BundleInputs, type ResolvedInput } from "./locked-inputs.js";

// Public surface of shared/errors.
export { NkError, isNkError, errorMessage, type NkErrorCode } from "./nk-error.js";

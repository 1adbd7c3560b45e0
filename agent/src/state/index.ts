// Public surface of agent/state: the durable agent state file.
export { DEFAULT_STATE_PATH, StateStore, type LoadedState, type StateStoreOptions } from "./state-store.js";
export { parseAgentState, salvageBadHistory } from "./state-codec.js";
export { RETRY_REQUEST_FILE, planRetry, retryRequestPath, takeRetryRequest, writeRetryRequest, type RetryRequest } from "./retry-request.js";
export { watchRetryRequests, type RetryWatcherOptions } from "./retry-watcher.js";

// Public surface of agent/guard: the files shared with the self-update guard unit.
export { clearGuardRollback, readGuardRollback, writeAlive, type GuardRollback } from "./guard-files.js";
export { RESTART_EXIT_CODE, SelfUpdateWatcher, type SelfUpdateWatcherDeps } from "./self-update-watcher.js";

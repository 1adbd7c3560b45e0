// Public surface of shared/process: what every daemon does with its own process, and pid locks.
export { stopOnSignals, type SignalHost, type Stoppable } from "./stop-on-signals.js";
export { StopList, type StopStep } from "./stop-list.js";
export { isProcessAlive } from "./is-process-alive.js";
export { takePidLock, type PidLock, type PidLockWords } from "./take-pid-lock.js";

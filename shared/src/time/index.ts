// Public surface of shared/time: waiting that an AbortSignal can cut short without leaking listeners.
export { abortableSleep, afterTimer, unlessAborted } from "./abortable-sleep.js";

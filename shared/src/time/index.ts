// Public surface of shared/time: waiting that an AbortSignal can cut short without leaking listeners, and retry delays.
export { abortableSleep, afterTimer, unlessAborted } from "./abortable-sleep.js";
export { doublingDelayMs } from "./doubling-delay.js";

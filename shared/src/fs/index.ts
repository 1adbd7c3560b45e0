// Public surface of shared/fs: file-system helpers every process uses.
export { fsyncDir, removeStaleTemps, writeFileAtomic, type AtomicWriteOptions } from "./atomic-file.js";
export { fsReason } from "./fs-reason.js";

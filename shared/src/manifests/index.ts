// Public surface of shared/manifests: reading manifests/ into objects, apply and prune planning, the ApplySet convention.
export * from "./manifest-object.js";
export * from "./builtin-kinds.js";
export * from "./read-manifests.js";
export * from "./apply-order.js";
export * from "./applyset.js";

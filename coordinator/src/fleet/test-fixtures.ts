// Test helpers for the fleet: an adopter over a store with a loaded registry, and a store whose call fails once.
import { silentLogger } from "../../../shared/src/log/index.js";
import { DesiredCatalog } from "../inventory/index.js";
import type { FileStore } from "../store/index.js";
import { DesiredFeed } from "./desired-feed.js";
import { NodeRegistry, type NodeRegistryOptions } from "./node-registry.js";
import { RevisionAdopter, type RevisionAdopterDeps } from "./revision-adopter.js";

/** The store, with its first call of `method` failing as etcd does when cut off. */
export function failingOnce(target: FileStore, method: keyof FileStore, message: string): FileStore {
  let failed = false;
  return new Proxy(target, {
    get(t, prop) {
      if (prop === method && !failed) return () => ((failed = true), Promise.reject(new Error(message)));
      const value = Reflect.get(t, prop) as unknown;
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/** An adopter over `on` (the store, or a wrapper of it) with a loaded registry and the test defaults; `deps` overrides them. */
export async function adopterOver(on: FileStore, deps: Partial<RevisionAdopterDeps> = {}, registryOptions: NodeRegistryOptions = {}) {
  const registry = new NodeRegistry(on, registryOptions);
  await registry.load();
  const parts = { store: on, catalog: new DesiredCatalog(), registry, feed: new DesiredFeed(), log: silentLogger(), now: () => 1_000, ...deps };
  return { ...parts, adopter: new RevisionAdopter(parts) };
}

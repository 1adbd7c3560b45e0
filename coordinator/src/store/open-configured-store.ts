// Opens the store the config names, with its matching leadership: the file store leads alone, etcd elects.
import { hostname } from "node:os";
import type { Logger } from "../../../shared/src/log/index.js";
import type { CoordinatorConfig } from "../config/index.js";
import { LeaderElection, SingleLeader, type Leadership } from "../leader/index.js";
import { FileStore } from "./file-store.js";
import { SecretCipher } from "./secret-cipher.js";
import type { Store } from "./store.js";

export interface ConfiguredStore {
  readonly store: Store;
  readonly leadership: Leadership;
  /** True when other coordinators share the store (their agents' reports arrive through it). */
  readonly shared: boolean;
  close(): Promise<void>;
}

export async function openConfiguredStore(config: CoordinatorConfig, log: Logger, now: () => number): Promise<ConfiguredStore> {
  const id = config.id ?? `${hostname()}:${config.grpc.listen.split(":").pop()}`;
  if (config.store.kind === "file") {
    const store = await FileStore.open({ dir: config.stateDir, clock: now, logger: log.child({ component: "store" }) });
    return { store, leadership: new SingleLeader(id), shared: false, close: () => store.close() };
  }
  const { endpoints, prefix, tls, auth, secretsKeyFile } = config.store;
  // Read before connecting: a missing or malformed key is a configuration error, said at once.
  const cipher = secretsKeyFile === undefined ? undefined : await SecretCipher.fromKeyFile(secretsKeyFile);
  // Loaded here, not at the top: a coordinator on the file store never needs etcd3 (see index.ts).
  const [{ createEtcdClient }, { EtcdStore }, { waitForEtcd }] = await Promise.all([import("./etcd-client.js"), import("./etcd-store.js"), import("./wait-for-etcd.js")]);
  const client = await createEtcdClient({ endpoints, ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) });
  await waitForEtcd(() => client.get(`${prefix}rollout`).string(), endpoints, { log: log.child({ component: "store" }) }).catch((err: unknown) => {
    client.close();
    throw err;
  });
  const election = LeaderElection.start({ client, prefix, id, logger: log.child({ component: "leader" }) });
  const store = await EtcdStore.open({ client, prefix, clock: now, logger: log.child({ component: "store" }), leaderGuard: () => election.leaderGuard(), ...(cipher ? { cipher } : {}),
    // The leader judges health from reports that reached other coordinators: keep them fresh.
    telemetryFlushMs: Math.min(5_000, config.heartbeatSeconds * 1000),
  });
  return {
    store,
    leadership: election,
    shared: true,
    async close() {
      await store.close();
      await election.close();
      client.close();
    },
  };
}

// Public surface of coordinator/store: the Store contract, the embedded FileStore, tokens and helpers.
export type {
  CheckResultRecord,
  EnqueueResult,
  EventInput,
  EventListener,
  EventRecord,
  FencedResult,
  GrantResult,
  HaltOptions,
  HealthRecord,
  LeaseGrant,
  LeaseKind,
  LeasePatch,
  LeaseRecord,
  LeaseRequest,
  LeaseRequestInput,
  LeaseResult,
  LeaseRolloutEdit,
  LeaseStateName,
  NodeHello,
  NodeRecord,
  NodeReport,
  ReadEventsOptions,
  RevisionRef,
  AdoptingMark,
  RevisionMove,
  RolloutRecord,
  CanaryMark,
  CanaryRecord,
  FleetLockSlot,
  FleetLockTake,
  SecretInfo,
  Store,
  SystemInfoRecord,
} from "./store.js";
export { FileStore, type FileStoreOptions } from "./file-store.js";
export { STATE_FILE } from "./state-file.js";
export { EVENTS_FILE, EVENTS_OLD_FILE } from "./event-log.js";
export { SECRETS_FILE, MAX_SECRET_BYTES } from "./secret-file.js";
export { ADMIN_TOKEN_FILE, MIN_ADMIN_TOKEN_LENGTH, ensureAdminToken } from "./admin-token.js";
export { generateToken, hashToken, tokensEqual, verifyToken } from "./token-hash.js";
export { followEvents } from "./follow-events.js";
export { sameHolders } from "./lease-rules.js";
export { fleetLockKey } from "./fleetlock-slots.js";
// EtcdStore and createEtcdClient are imported from their files (etcd-store.js, etcd-client.js), not re-exported here:
// 35 modules import this index, and etcd3 (with its own gRPC stack) costs a coordinator on the file store about 10 %
// of its start; openConfiguredStore loads them only for the etcd store.
export type { EtcdStoreOptions } from "./etcd-store.js";
export type { EtcdConnectionOptions } from "./etcd-client.js";
export { DEFAULT_ETCD_PREFIX } from "./etcd-keys.js";
export type { LeaderGuard } from "./etcd-leases.js";
export { openConfiguredStore, type ConfiguredStore } from "./open-configured-store.js";
export { CLEAR_SECRETS_WARNING, SecretCipher } from "./secret-cipher.js";

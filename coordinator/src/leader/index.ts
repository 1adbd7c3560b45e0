// Public surface of coordinator/leader: who leads among coordinators (etcd election) or a lone leader (file store).
export type { Leadership } from "./leadership.js";
export { LeaderElection, type LeaderElectionOptions } from "./leader-election.js";
export { SingleLeader } from "./single-leader.js";

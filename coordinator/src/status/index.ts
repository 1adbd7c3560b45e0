// Public surface of coordinator/status: the read-only views shown to operators.
export type * from "./cluster-snapshot.js";
export { StatusBoard, eventView, type StatusBoardDeps, type KubeNodeFacts } from "./status-board.js";

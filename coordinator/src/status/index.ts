// Public surface of coordinator/status: the read-only views shown to operators.
export type * from "./cluster-snapshot.js";
export { StatusBoard, eventView, type StatusBoardDeps, type KubeNodeFacts } from "./status-board.js";
export { deriveRollouts, TIMELINE_PHASES, type CommitFacts, type NodeOutcome, type NodeRollout, type PhaseSpan, type RevisionRollout, type RolloutOutcome, type TimelinePhase } from "./derive-rollouts.js";
export { RolloutJournal, type RolloutJournalOptions } from "./rollout-journal.js";

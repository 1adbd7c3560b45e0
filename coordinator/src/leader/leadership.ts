// What the rest of the coordinator asks about leadership: am I the leader, who is, and tell me when it changes.

/**
 * Only the leader grants leases and runs rollout decisions; followers serve agents and reads.
 * `onChange` fires with the new value whenever this coordinator gains or loses leadership.
 */
export interface Leadership {
  isLeader(): boolean;
  /** The current leader's id as last observed, if any. */
  leaderId(): string | undefined;
  onChange(listener: (leader: boolean) => void): () => void;
  /** Gives up leadership for good (shutdown); another candidate takes over. */
  resign(): Promise<void>;
}

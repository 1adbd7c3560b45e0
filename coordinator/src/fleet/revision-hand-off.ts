// How a new revision reaches the adopter: pre-receive (or the upstream follower) validates it, post-receive adopts
// exactly what was validated without parsing it again; the startup revision and pushes are adopted the same way.
import { InventoryTextMemo, type Inventory, type RepoFiles } from "../../../shared/src/inventory/index.js";
import { RESERVED_SECRET_PREFIX } from "../auth/index.js";
import { NixSyntaxMemo, validatePushedTree, type HookVerdict, type PushValidation, type ReadPushedTree, type RefUpdate, type TreeSnapshot } from "../git/index.js";
import type { EventInput, SecretInfo } from "../store/index.js";
import type { AdoptOutcome } from "./revision-adopter.js";

export interface RevisionHandOffDeps {
  readonly adopt: (revision: string, files: RepoFiles, options: { startup?: boolean; validated?: Inventory; pushedBy?: string }) => Promise<AdoptOutcome>;
  /** The committed tree of a revision already in the repo (post-receive, the follower, startup). */
  readonly readTree: (revision: string) => Promise<RepoFiles>;
  readonly store: { listSecrets(): Promise<SecretInfo[]>; appendEvent(event: EventInput): Promise<unknown> };
  /** Each pre-receive verdict, for metrics. */
  readonly onPushValidated?: (accepted: boolean) => void;
}

export class RevisionHandOff {
  /**
   * What pre-receive validated, so post-receive adopts the same tree without reading or parsing it again (the
   * files of that commit are the ones validated: a revision names its tree).
   */
  private accepted: { revision: string; inventory: Inventory; files: RepoFiles } | null = null;

  /** A push that leaves inventory.yaml as it was is not parsed again (10,000 nodes: ~1 s of YAML per push). */
  private readonly memo = new InventoryTextMemo();
  /** Only new or changed .nix files are parsed again. */
  private readonly nixMemo = new NixSyntaxMemo();

  constructor(private readonly deps: RevisionHandOffDeps) {}

  /** Adopts a revision; the lines are shown to the pusher. */
  async adopt(revision: string, files: RepoFiles, startup = false, pushedBy?: string): Promise<string[]> {
    const validated = this.accepted?.revision === revision ? this.accepted.inventory : undefined;
    this.accepted = null;
    const outcome = await this.deps.adopt(revision, files, { startup, ...(validated ? { validated } : {}), ...(pushedBy ? { pushedBy } : {}) });
    return outcome.ok ? [`nk: revision ${revision.slice(0, 12)} adopted: ${outcome.result.changed.length} node(s) get a new bundle, ${outcome.result.unchanged} unchanged`] : [];
  }

  /** The repo's main at start: served again even when a secret it names has gone since. */
  async adoptStartup(revision: string): Promise<void> {
    await this.adopt(revision, await this.deps.readTree(revision), true);
  }

  async preReceive(update: RefUpdate, readTree: ReadPushedTree): Promise<HookVerdict> {
    const verdict = await this.validate(await readTree(update.newSha));
    this.deps.onPushValidated?.(verdict.ok);
    if (!verdict.ok) await this.deps.store.appendEvent({ kind: "push-rejected", revision: update.newSha, message: verdict.lines.slice(0, 5).join("; ") });
    return verdict;
  }

  async postReceive(update: RefUpdate): Promise<string[]> {
    return this.adopt(update.newSha, await this.treeOf(update.newSha), false, update.pusher);
  }

  /** The upstream follower's check; it adopts right after (upstreamAccepted), as post-receive does for a push. */
  validateUpstream(tree: TreeSnapshot): Promise<PushValidation> {
    return this.validate(tree);
  }

  async upstreamAccepted(revision: string): Promise<void> {
    await this.adopt(revision, await this.treeOf(revision));
  }

  /** The validated files when that is the revision, else the committed tree as git has it. */
  private async treeOf(revision: string): Promise<RepoFiles> {
    return this.accepted?.revision === revision ? this.accepted.files : this.deps.readTree(revision);
  }

  async upstreamRejected(revision: string, lines: readonly string[]): Promise<void> {
    await this.deps.store.appendEvent({ kind: "upstream-rejected", revision, message: lines.slice(0, 5).join("; ") });
  }

  private async validate(tree: TreeSnapshot): Promise<PushValidation> {
    const knownSecrets = new Set((await this.deps.store.listSecrets()).map((s) => s.name).filter((n) => !n.startsWith(RESERVED_SECRET_PREFIX)));
    const verdict = await validatePushedTree(tree, { knownSecrets, memo: this.memo, nixMemo: this.nixMemo });
    if (verdict.ok && verdict.inventory) this.accepted = { revision: tree.revision, inventory: verdict.inventory, files: tree.files };
    return verdict;
  }
}

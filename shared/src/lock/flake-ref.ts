// What Nix records for a flake reference: the `original` attributes it parses a URL into, and when attributes are locked.
export type FlakeAttrs = Readonly<Record<string, string | number | boolean>>;

const TARBALL = /\.(zip|tar|tgz|tar\.gz|tar\.xz|tar\.bz2|tar\.zst)$/;
const REV = /^[0-9a-f]{40}$/;
/** An SRI sha256: "sha256-" and 44 base64 characters (what Nix writes as narHash). */
export const SRI_SHA256 = /^sha256-[A-Za-z0-9+/]{43}=$/;

function query(params: URLSearchParams, allowed: readonly string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    if (!allowed.includes(key)) return null;
    out[key] = value;
  }
  return out;
}

/**
 * The `original` attributes Nix 2.8 parses the common reference forms into (github:, git+…, tarball
 * URLs); null for forms nk does not model, whose `original` is then taken as `nkctl pin` recorded it.
 */
export function originalAttrs(url: string): FlakeAttrs | null {
  const github = /^github:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)(?:\/([^?#]+))?$/.exec(url);
  if (github) {
    const [, owner, repo, refOrRev] = github;
    const pin: Record<string, string> = refOrRev === undefined ? {} : REV.test(refOrRev) ? { rev: refOrRev } : { ref: refOrRev };
    return { owner: owner!, repo: repo!, ...pin, type: "github" };
  }
  const git = /^git\+((?:file|https?|ssh):\/\/[^?#]+)(?:\?([^#]*))?$/.exec(url);
  if (git) {
    const params = query(new URLSearchParams(git[2] ?? ""), ["ref", "rev"]);
    return params && { ...params, type: "git", url: git[1]! };
  }
  if (/^https?:\/\/[^?#]+$/.test(url) && TARBALL.test(url)) return { type: "tarball", url };
  return null;
}

/** Why `locked` does not pin its input to one tree, or null when it does (a narHash, and a rev where there is one). */
export function unlockedReason(locked: FlakeAttrs): string | null {
  if (typeof locked.narHash !== "string" || !SRI_SHA256.test(locked.narHash)) return 'has no narHash (an SRI sha256, "sha256-" and 44 base64 characters)';
  if ((locked.type === "github" || locked.type === "git" || locked.type === "gitlab" || locked.type === "sourcehut") && !(typeof locked.rev === "string" && REV.test(locked.rev))) {
    return "has no rev (a 40-character git commit id)";
  }
  return null;
}

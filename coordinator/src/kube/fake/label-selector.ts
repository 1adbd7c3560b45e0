// Label selectors as the API parses them: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b), comma-joined.

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

/** Splits on commas outside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

function requirement(term: string): Requirement {
  let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key, op, list] = m;
    const values = list!.split(",").map((v) => v.trim());
    return op === "in" ? (l) => l[key!] !== undefined && values.includes(l[key!]!) : (l) => l[key!] === undefined || !values.includes(l[key!]!);
  }
  m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (m) {
    const [, key, op, value] = m;
    return op === "!=" ? (l) => l[key!] !== value : (l) => l[key!] === value;
  }
  m = /^!\s*(\S+)$/.exec(term);
  if (m) return (l) => l[m![1]!] === undefined;
  if (/^\S+$/.test(term)) return (l) => l[term] !== undefined;
  throw new Error(`unable to parse requirement: "${term}"`);
}

/** Throws on a malformed selector (the API answers 400). */
export function parseLabelSelector(selector: string): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const reqs = terms(selector).map(requirement);
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

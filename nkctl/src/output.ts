// Output helpers: aligned tables for humans, JSON and YAML for scripts, and the small formatters both use.
import { stringify } from "yaml";
import type { CliContext, OutputFormat } from "./cli-context.js";

export type Cell = string | number | boolean | null | undefined;

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === "") return "-";
  return String(c);
}

/** Left-aligned columns two spaces apart, no trailing spaces; empty cells show as "-". */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = [headers.map(String), ...rows.map((r) => headers.map((_, i) => cellText(r[i])))];
  const widths = headers.map((_, i) => Math.max(...text.map((r) => [...(r[i] ?? "")].length)));
  const lines = text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - [...c].length))).join("  "));
  return `${lines.join("\n")}\n`;
}

/** Stable, indented JSON with a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** 12 characters of a commit or sha256, enough to tell revisions apart on screen. */
export function short(id: string): string {
  return id ? id.slice(0, 12) : "";
}

/** 45s, 3m20s, 2h5m, 3d4h: compact, for table cells. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ""}`;
}

/** "12s ago"; "never" for an unset (0) time; "in the future" guards against clock skew. */
export function formatAgo(timeMs: number, nowMs: number): string {
  if (!timeMs) return "never";
  if (timeMs > nowMs + 1000) return "in the future";
  return `${formatDuration(nowMs - timeMs)} ago`;
}

/** Time left until a deadline: "4m10s", "overdue 30s", "-" when there is none. */
export function formatDeadline(deadlineMs: number, nowMs: number): string {
  if (!deadlineMs) return "-";
  return deadlineMs >= nowMs ? formatDuration(deadlineMs - nowMs) : `overdue ${formatDuration(nowMs - deadlineMs)}`;
}

export function formatTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/** The same data as formatJson, as a YAML document (keys in the same order). */
export function formatYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** `json` as JSON or YAML, or `human(wide)` as text, per -o (wide: the listing's extra columns). */
export function formatOutput(format: OutputFormat, json: unknown, human: (wide: boolean) => string): string {
  if (format === "json") return formatJson(json);
  if (format === "yaml") return formatYaml(json);
  return human(format === "wide");
}

/** Prints formatOutput(...). */
export function emit(ctx: CliContext, format: OutputFormat, json: unknown, human: (wide: boolean) => string): void {
  ctx.stdout.write(formatOutput(format, json, human));
}

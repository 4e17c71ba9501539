// An execution's log as the page holds it: lines kept in order whatever order they arrive in
// (a stream that reconnects sends some again), filtered by stream and by a search.
import type { LogLine } from "../../lib/types";

export type StreamChoice = "all" | "stdout" | "stderr";

/** `lines` with `more` added: in `seq` order, each `seq` once. */
export function merged(lines: readonly LogLine[], more: readonly LogLine[]): LogLine[] {
  if (more.length === 0) return lines as LogLine[];
  const last = lines.length ? lines[lines.length - 1].seq : -1;
  // the usual case: new lines after the last one, in order
  if (more.every((line, i) => line.seq > (i ? more[i - 1].seq : last))) return [...lines, ...more];
  const bySeq = new Map<number, LogLine>();
  for (const line of lines) bySeq.set(line.seq, line);
  for (const line of more) bySeq.set(line.seq, line);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The lines shown: of the chosen stream, containing `search` (case-insensitive). */
export function shown(lines: readonly LogLine[], stream: StreamChoice, search: string): LogLine[] {
  const needle = search.trim().toLowerCase();
  return lines.filter(
    (line) =>
      (stream === "all" || line.stream === stream) &&
      (needle === "" || line.line.toLowerCase().includes(needle)),
  );
}

/** `text` cut around each match of `search`, for highlighting: [before, match, between, match...]. */
export function pieces(text: string, search: string): { text: string; match: boolean }[] {
  const needle = search.trim().toLowerCase();
  if (!needle) return [{ text, match: false }];
  const parts: { text: string; match: boolean }[] = [];
  const lower = text.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + needle.length), match: true });
    from = at + needle.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  return parts;
}

/** The log as a file to download: one line each, stderr's marked. */
export function asText(lines: readonly LogLine[]): string {
  return lines.map((line) => (line.stream === "stderr" ? `[stderr] ${line.line}` : line.line)).join("\n") + "\n";
}

// Two versions of an event compared line by line: the script, then the other settings as JSON.
import { diffLines } from "diff";
import type { EventVersion } from "../../lib/types";

export interface DiffLine {
  sign: "+" | "-" | " ";
  text: string;
}

/** A version as text: its script first (where the changes usually are), then its settings. */
export function versionText(version: EventVersion): string {
  const { script, ...settings } = version.settings;
  const code = typeof script === "string" && script !== "" ? `${script.replace(/\n?$/, "\n")}\n` : "";
  const sorted = Object.fromEntries(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b)));
  return `${code}${JSON.stringify(sorted, null, 2)}\n`;
}

/** The lines going from `older` to `newer`, each marked added, removed or kept. */
export function diffVersions(older: EventVersion, newer: EventVersion): DiffLine[] {
  return diffLines(versionText(older), versionText(newer)).flatMap((part) => {
    const sign = part.added ? "+" : part.removed ? "-" : " ";
    return part.value.replace(/\n$/, "").split("\n").map((text) => ({ sign, text }) as DiffLine);
  });
}

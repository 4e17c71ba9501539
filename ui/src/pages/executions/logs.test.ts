import { describe, expect, it } from "vitest";
import { asText, merged, pieces, shown } from "./logs";
import type { LogLine } from "../../lib/types";

const at = "2026-01-01T00:00:00Z";
const line = (seq: number, text: string, stream = "stdout"): LogLine => ({ seq, stream, at, line: text });

describe("merged", () => {
  it("appends lines that come after the last one", () => {
    expect(merged([line(0, "a")], [line(1, "b"), line(2, "c")]).map((l) => l.seq)).toEqual([0, 1, 2]);
  });
  it("keeps each seq once and in order when a reconnect sends lines again", () => {
    const kept = merged([line(0, "a"), line(1, "b")], [line(1, "b"), line(3, "d"), line(2, "c")]);
    expect(kept.map((l) => l.seq)).toEqual([0, 1, 2, 3]);
  });
});

describe("shown", () => {
  const lines = [line(0, "Hello"), line(1, "oops", "stderr"), line(2, "hello again")];
  it("filters by stream", () => {
    expect(shown(lines, "stderr", "").map((l) => l.seq)).toEqual([1]);
    expect(shown(lines, "stdout", "").map((l) => l.seq)).toEqual([0, 2]);
  });
  it("searches without regard to case", () => {
    expect(shown(lines, "all", " HELLO ").map((l) => l.seq)).toEqual([0, 2]);
  });
});

describe("pieces", () => {
  it("cuts the text around every match", () => {
    expect(pieces("abcABCx", "bc")).toEqual([
      { text: "a", match: false },
      { text: "bc", match: true },
      { text: "A", match: false },
      { text: "BC", match: true },
      { text: "x", match: false },
    ]);
  });
  it("is the whole text without a search", () => {
    expect(pieces("abc", "")).toEqual([{ text: "abc", match: false }]);
  });
});

it("marks stderr in the downloaded text", () => {
  expect(asText([line(0, "out"), line(1, "err", "stderr")])).toBe("out\n[stderr] err\n");
});

import { expect, it } from "vitest";
import { ago, bytes, duration } from "./format";

it("says how long ago in whole seconds under a minute, and ahead with 'in'", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  expect(ago("2026-01-01T11:59:59Z", now)).toBe("1 s ago");
  expect(ago("2026-01-01T11:57:30Z", now)).toBe("2 min 30 s ago");
  expect(ago("2026-01-01T12:00:42Z", now)).toBe("in 42 s");
  expect(ago(null, now)).toBe("—");
});

it("reads durations and sizes at their scale", () => {
  expect(duration(0.0123)).toBe("12 ms");
  expect(duration(6.05)).toBe("6.05 s");
  expect(duration(3700)).toBe("1 h 1 min");
  expect(bytes(4.5 * 1024 * 1024)).toBe("4.5 MiB");
});

import { describe, expect, it } from "vitest";
import { failureReason, tookSeconds } from "./runs";

describe("tookSeconds", () => {
  const run = { run_seconds: null, started_at: "2026-12-04T20:10:26.100Z", finished_at: "2026-12-04T20:10:28.600Z" };

  it("is a run's time from its start to its end when it has no run_seconds", () => {
    expect(tookSeconds(run)).toBe(2.5);
  });

  it("is run_seconds when there is one", () => {
    expect(tookSeconds({ ...run, run_seconds: 1.25 })).toBe(1.25);
  });

  it("is unknown until the run has started and ended", () => {
    expect(tookSeconds({ ...run, finished_at: null })).toBeNull();
    expect(tookSeconds({ ...run, started_at: null, finished_at: null })).toBeNull();
  });
});

describe("failureReason", () => {
  const ended = { error: null, exit_code: null, signal: null, timed_out: false, oom_killed: false };

  it("is the execution's error when it has one", () => {
    expect(failureReason({ ...ended, error: "the sandbox could not start", exit_code: 1 })).toBe("the sandbox could not start");
  });

  it("says the exit code of a script that failed", () => {
    expect(failureReason({ ...ended, exit_code: 3 })).toBe("exit code 3");
  });

  it("says the signal that killed a script", () => {
    expect(failureReason({ ...ended, signal: 9, exit_code: 137 })).toBe("killed by signal 9");
  });

  it("says a script timed out rather than the signal that stopped it", () => {
    expect(failureReason({ ...ended, timed_out: true, signal: 15 })).toBe("timed out");
  });

  it("says a script was killed for its memory", () => {
    expect(failureReason({ ...ended, oom_killed: true, signal: 9 })).toBe("killed: out of memory");
  });

  it("has nothing to say of a script that exited with 0 and no error", () => {
    expect(failureReason({ ...ended, exit_code: 0 })).toBeNull();
  });
});

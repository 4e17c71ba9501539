// How a workflow run reads: how long a run took, and why a node failed. Pure: no call, no clock.
import type { Execution } from "../../lib/types";

/** Seconds a run took. A workflow run runs no script of its own, so it has no `run_seconds`:
 * it took from its start to its end. Null while it has not ended. */
export function tookSeconds(run: Pick<Execution, "run_seconds" | "started_at" | "finished_at">): number | null {
  if (run.run_seconds !== null) return run.run_seconds;
  if (!run.started_at || !run.finished_at) return null;
  return Math.max(0, (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000);
}

/** Why an execution failed: its error when it has one, else how its script ended. A timed-out
 * script is also killed by a signal: "timed out" says more, so it comes first. */
export function failureReason(
  execution: Pick<Execution, "error" | "exit_code" | "signal" | "timed_out" | "oom_killed">,
): string | null {
  if (execution.error) return execution.error;
  if (execution.timed_out) return "timed out";
  if (execution.oom_killed) return "killed: out of memory";
  if (execution.signal !== null) return `killed by signal ${execution.signal}`;
  if (execution.exit_code !== null && execution.exit_code !== 0) return `exit code ${execution.exit_code}`;
  return null;
}

/** The node statuses that have a reason to show. */
export const FAILED_NODE: ReadonlySet<string> = new Set(["failed", "timed_out"]);

import { expect, it } from "vitest";
import { eventName, eventPath, executionPath } from "./links";

const known = new Map([
  [1, { name: "backup", kind: "script" as const }],
  [2, { name: "nightly", kind: "workflow" as const }],
]);

it("sends a workflow and its runs to the workflow pages", () => {
  expect(eventPath(2, known)).toBe("/workflows/2");
  expect(executionPath({ id: 9, event_id: 2 }, known)).toBe("/workflows/runs/9");
});

it("sends anything else, or an event not known, to the event pages", () => {
  expect(eventPath(1, known)).toBe("/events/1");
  expect(executionPath({ id: 8, event_id: 1 }, known)).toBe("/executions/8");
  expect(executionPath({ id: 7, event_id: 5 }, known)).toBe("/executions/7");
  expect(eventName(5, known)).toBe("event 5");
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, errorFor } from "../../lib/api";
import type { Event, EventVersion, Execution } from "../../lib/types";
import { blankEvent, changeAnswers, eventBody, eventForm, isTemplate, rangeText, refusalUnder, TEMPLATES } from "./model";
import { browserZone, currentZone, debounce, describeCron, instantOf, localInput, scheduleBody, scheduleSummary, timeZones } from "./schedule";
import { filterEvents, filterOf, lastByEvent, paramsOf } from "./list";
import { diffVersions } from "./versions";

describe("the debounce the schedule editor checks with", () => {
  afterEach(() => vi.useRealTimers());

  it("calls once, with the last arguments, after the typing stops", () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const check = debounce((value: string) => seen.push(value), 300);
    check.call("*");
    vi.advanceTimersByTime(200);
    check.call("*/5");
    vi.advanceTimersByTime(299);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(["*/5"]);
  });

  it("drops a pending call when cancelled", () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const check = debounce((value: string) => seen.push(value), 300);
    check.call("x");
    check.cancel();
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([]);
  });
});

describe("a cron expression in English", () => {
  it("reads five fields, and six with seconds first", () => {
    expect(describeCron("*/5 * * * *")).toBe("Every 5 minutes");
    expect(describeCron("0 30 9 * * 1-5")).toBe("At 09:30, Monday through Friday");
  });
  it("is none for what cronstrue cannot read", () => {
    expect(describeCron("every day")).toBeNull();
    expect(describeCron("  ")).toBeNull();
  });
  it("says the zone in a list", () => {
    expect(scheduleSummary({ kind: "cron", cron: "0 9 * * *", timezone: "Europe/Paris" })).toBe(
      "At 09:00 (Europe/Paris)",
    );
    expect(scheduleSummary({ kind: "interval", every_seconds: 7200, timezone: "UTC" })).toBe("Every 2 h");
    expect(scheduleSummary(null)).toBe("—");
  });
});

describe("a schedule's body", () => {
  const form = { kind: "cron", cron: "0 9 * * *", timezone: "Asia/Tokyo", every_seconds: "60", anchor: "", at: "", start: "", end: "" } as const;

  it("is null without a schedule", () => {
    expect(scheduleBody({ ...form, kind: "none" })).toBeNull();
  });
  it("carries the expression and its zone", () => {
    expect(scheduleBody(form)).toEqual({ kind: "cron", cron: "0 9 * * *", timezone: "Asia/Tokyo", start: null, end: null });
  });
  it("counts an interval from now when it has no anchor", () => {
    const now = new Date("2030-01-02T03:04:05Z");
    expect(scheduleBody({ ...form, kind: "interval" }, now)).toMatchObject({ every_seconds: 60, anchor: now.toISOString() });
  });
  it("turns the browser's wall clock into an instant and back", () => {
    const local = localInput("2030-06-01T10:15:00Z");
    expect(instantOf(local)).toBe("2030-06-01T10:15:00.000Z");
    expect(instantOf("")).toBeNull();
  });
});

describe("a one-off schedule", () => {
  it("is read in the browser's zone, whatever zone the form held", () => {
    const once = { kind: "once", cron: "", timezone: "Asia/Tokyo", every_seconds: "", anchor: "", at: "2030-06-01T10:15", start: "", end: "" } as const;
    expect(scheduleBody(once)).toMatchObject({ kind: "once", timezone: browserZone(), at: instantOf("2030-06-01T10:15") });
  });
});

describe("the time zones to pick from", () => {
  afterEach(() => vi.restoreAllMocks());

  it("are named by their current IANA names, not the old ones the browser keeps", () => {
    vi.spyOn(Intl, "supportedValuesOf").mockReturnValue(["Asia/Calcutta", "Asia/Saigon", "Europe/Kiev", "America/Godthab", "Europe/Paris"]);
    expect(timeZones("UTC")).toEqual(["UTC", "America/Nuuk", "Asia/Ho_Chi_Minh", "Asia/Kolkata", "Europe/Kyiv", "Europe/Paris"]);
  });
  it("keep the event's own zone as it is spelled, so the form shows what is stored", () => {
    vi.spyOn(Intl, "supportedValuesOf").mockReturnValue(["Asia/Calcutta"]);
    expect(timeZones("Asia/Calcutta")).toEqual(["UTC", "Asia/Calcutta", "Asia/Kolkata"]);
  });
  it("start from the browser's zone by its current name", () => {
    const options = Intl.DateTimeFormat().resolvedOptions();
    vi.spyOn(Intl.DateTimeFormat.prototype, "resolvedOptions").mockReturnValue({ ...options, timeZone: "Asia/Calcutta" });
    expect(browserZone()).toBe("Asia/Kolkata");
    expect(currentZone("Europe/Paris")).toBe("Europe/Paris");
  });
});

describe("the starter template", () => {
  it("shows each language's helpers", () => {
    expect(TEMPLATES.python).toContain("cronium.input()");
    expect(TEMPLATES.python).toContain("cronium.set_variable(");
    expect(TEMPLATES.node).toContain("cronium.setCondition(");
    expect(TEMPLATES.bash).toContain("cronium_output");
  });
  it("may be replaced while it is untouched only", () => {
    expect(isTemplate(TEMPLATES.bash)).toBe(true);
    expect(isTemplate("")).toBe(true);
    expect(isTemplate(`${TEMPLATES.bash}echo mine\n`)).toBe(false);
  });
});

const stored = {
  id: 7,
  name: "nightly",
  description: "",
  tags: ["ops"],
  kind: "script",
  language: "bash",
  script: "echo hi\n",
  global_helpers: false,
  http: null,
  tool_action: null,
  workflow: null,
  env: { A: "1" },
  secrets: { TOKEN: "env" },
  cpus: 1,
  memory_mb: 256,
  pids: 50,
  timeout_seconds: 60,
  network: "none",
  max_attempts: 3,
  retry_backoff_seconds: 10,
  retry_backoff_max_seconds: 3600,
  pool: null,
  schedule: { kind: "cron", cron: "0 2 * * *", timezone: "UTC" },
  missed_runs: "skip",
  catch_up_seconds: 3600,
  concurrency: "forbid",
  max_concurrent: null,
  max_executions: null,
  actions: [{ when: "failure", notify: { tool: "slack", action: "send_message", params: { text: "x" } } }],
  status: "active",
} as unknown as Event;

describe("an event's body", () => {
  it("gives a new script event its kind and leaves unset what is empty", () => {
    const body = eventBody({ ...blankEvent("python"), name: "a", tags: "x, y ,," }, true) as Record<string, unknown>;
    expect(body).toMatchObject({ kind: "script", language: "python", tags: ["x", "y"], cpus: 0.5 });
    expect(body).not.toHaveProperty("schedule");
    expect(body).not.toHaveProperty("pool");
    expect(body).not.toHaveProperty("http");
  });

  it("round-trips a stored event, clearing on update what was emptied", () => {
    const form = eventForm(stored);
    const body = eventBody({ ...form, schedule: { ...form.schedule, kind: "none" } }, false) as Record<string, unknown>;
    expect(body).toMatchObject({ env: { A: "1" }, secrets: { TOKEN: "env" }, concurrency: "forbid", max_attempts: 3 });
    expect(body.schedule).toBeNull();
    expect(body.pool).toBeNull();
    expect(body).not.toHaveProperty("kind");
    expect(body.actions).toEqual(stored.actions);
  });

  it("sends a limit that is not a number as typed, for the API to refuse", () => {
    expect((eventBody({ ...blankEvent(), cpus: "lots" }, true) as Record<string, unknown>).cpus).toBe("lots");
  });

  it("refuses JSON that does not parse under its field, before sending", () => {
    const form = { ...blankEvent(), kind: "tool" as const, tool: { tool: "slack", action: "send_message", params: "{oops" } };
    let refusal: unknown;
    try {
      eventBody(form, true);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect(errorFor(refusal, "tool_action")).toMatch(/^tool_action\.params: is not valid JSON/);
  });
});

describe("key/value rows given twice", () => {
  const refusalOf = (form: ReturnType<typeof blankEvent>) => {
    try {
      eventBody(form, true);
    } catch (error) {
      return error;
    }
    return null;
  };

  it("are refused under their field before sending, not silently kept once", () => {
    const env = [{ key: "FOO", value: "1" }, { key: "BAR", value: "2" }, { key: " FOO", value: "3" }];
    expect(errorFor(refusalOf({ ...blankEvent(), env }), "env")).toBe("env: FOO is given twice");
    const secrets = [{ key: "TOKEN", value: "file" }, { key: "TOKEN", value: "env" }];
    expect(errorFor(refusalOf({ ...blankEvent(), secrets }), "secrets")).toBe("secrets: TOKEN is given twice");
  });
  it("leave distinct names and empty rows alone", () => {
    const env = [{ key: "FOO", value: "1" }, { key: "", value: "" }, { key: "", value: "" }, { key: "foo", value: "2" }];
    expect((eventBody({ ...blankEvent(), env }, true) as Record<string, unknown>).env).toEqual({ FOO: "1", foo: "2" });
  });
});

describe("a refusal once its field changes", () => {
  const refusal = (message: string) => new ApiError(422, "invalid_input", message);

  it("is answered by a change of the field it is about", () => {
    const cron = refusal("cron expression '61 * * * *' is not valid: bad minute");
    expect(changeAnswers(cron, "schedule")).toBe(true);
    expect(changeAnswers(cron, "name")).toBe(false);
    expect(changeAnswers(refusal("env: FOO is given twice"), "env")).toBe(true);
    expect(changeAnswers(refusal("tool_action.params: is not valid JSON"), "tool")).toBe(true);
    expect(changeAnswers(new Error("the network is down"), "name")).toBe(false);
  });
});

describe("a number's range, told before saving", () => {
  it("reads as the API's bounds", () => {
    expect(rangeText({ min: 0.05, max: 2 })).toBe("0.05 to 2");
    expect(rangeText({ min: 0, max: 604800 })).toBe("0 to 604,800");
    expect(rangeText({ min: 1 })).toBe("1 or more");
  });
});

describe("where a refusal is shown", () => {
  const refusal = (message: string) => new ApiError(422, "invalid_input", message);

  it("is the field the message names", () => {
    expect(refusalUnder(refusal("cpus: Input should be less than or equal to 2"), "cpus")).toMatch(/^cpus/);
    expect(refusalUnder(refusal("cpus: Input should be less than or equal to 2"), "memory_mb")).toBeNull();
    expect(refusalUnder(new Error("cpus: x"), "cpus")).toBeNull();
  });
  it("is the schedule for its sentences, whatever their words", () => {
    expect(refusalUnder(refusal("cron expression 'x' has 1 fields: use 5"), "schedule")).not.toBeNull();
    expect(refusalUnder(refusal("unknown time zone 'Mars/Base': use an IANA name"), "schedule")).not.toBeNull();
    expect(refusalUnder(refusal("schedule.cron: bad"), "schedule")).not.toBeNull();
    expect(refusalUnder(refusal("cron expression 'x' has 1 fields: use 5"), "name")).toBeNull();
  });
  it("is the name when it is taken", () => {
    expect(refusalUnder(new ApiError(409, "conflict", "an event named 'a' already exists"), "name")).not.toBeNull();
  });
  it("is the list for one of its items", () => {
    expect(refusalUnder(refusal("actions[0].notify: you have no slack tool"), "actions")).not.toBeNull();
  });
});

describe("the events list", () => {
  const other = { ...stored, id: 8, name: "Backup", tags: ["db"], status: "paused" } as Event;
  const flow = { ...stored, id: 9, name: "flow", kind: "workflow" } as Event;

  it("keeps its filters in the address", () => {
    const filter = filterOf(new URLSearchParams("q=back&status=paused"));
    expect(filter).toEqual({ q: "back", tag: "", status: "paused" });
    expect(paramsOf(filter).toString()).toBe("q=back&status=paused");
  });

  it("filters by name, tag and status, workflows left out", () => {
    const events = [stored, other, flow];
    expect(filterEvents(events, { q: "", tag: "", status: "" }).map((e) => e.id)).toEqual([7, 8]);
    expect(filterEvents(events, { q: "BACK", tag: "", status: "" }).map((e) => e.id)).toEqual([8]);
    expect(filterEvents(events, { q: "", tag: "ops", status: "" }).map((e) => e.id)).toEqual([7]);
    expect(filterEvents(events, { q: "", tag: "", status: "paused" }).map((e) => e.id)).toEqual([8]);
  });

  it("shows each event's newest execution", () => {
    const runs = [
      { id: 3, event_id: 7 },
      { id: 5, event_id: 7 },
      { id: 4, event_id: 8 },
    ] as Execution[];
    const last = lastByEvent(runs);
    expect(last.get(7)?.id).toBe(5);
    expect(last.get(8)?.id).toBe(4);
  });
});

describe("two versions compared", () => {
  const version = (n: number, script: string, cpus: number) =>
    ({ version: n, settings: { script, cpus, name: "e" }, restored_from: null, created_at: "" }) as EventVersion;

  it("marks the lines removed and added, the rest kept", () => {
    const lines = diffVersions(version(1, "echo a\necho b\n", 1), version(2, "echo a\necho c\n", 2));
    expect(lines).toContainEqual({ sign: " ", text: "echo a" });
    expect(lines).toContainEqual({ sign: "-", text: "echo b" });
    expect(lines).toContainEqual({ sign: "+", text: "echo c" });
    expect(lines).toContainEqual({ sign: "-", text: '  "cpus": 1,' });
    expect(lines).toContainEqual({ sign: "+", text: '  "cpus": 2,' });
    expect(lines).toContainEqual({ sign: " ", text: '  "name": "e"' });
  });
});


describe("an action's params", () => {
  it("is made here for params that are not JSON", () => {
    const form = { ...blankEvent(), actions: [{ when: "failure" as const, does: "notify" as const, event_id: "", tool: "slack", action: "send_message", params: "{" }] };
    expect(() => eventBody(form, true)).toThrow(/^actions\[0\]\.notify\.params: is not valid JSON/);
  });
});

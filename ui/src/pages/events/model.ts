// An event as the form holds it (text in inputs), and the API bodies made from it: one shape for
// the new-event page and the edit tab. Pure: no React, no calls.
import { ApiError, errorFor } from "../../lib/api";
import type { components } from "../../lib/schema";
import type { Event } from "../../lib/types";
import { blankSchedule, scheduleBody, scheduleForm, type ScheduleForm } from "./schedule";

type S = components["schemas"];
export type EventCreate = S["EventCreate"];
export type EventUpdate = S["EventUpdate"];
export type Language = S["Language"];
export type ActionWhen = S["ActionWhen"];
export type Concurrency = S["Concurrency"];
export type MissedRuns = S["MissedRuns"];
export type EventStatus = S["EventStatus"];

/** The kinds this form makes (a workflow is made on the Workflows page). */
export type FormKind = "script" | "http" | "tool";
export const KINDS: { value: FormKind; label: string }[] = [
  { value: "script", label: "Script" },
  { value: "http", label: "HTTP request" },
  { value: "tool", label: "Tool action (a message)" },
];
export const LANGUAGES: { value: Language; label: string }[] = [
  { value: "bash", label: "Bash" },
  { value: "python", label: "Python" },
  { value: "node", label: "Node" },
];
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
export const STATUSES: EventStatus[] = ["active", "paused", "draft", "archived"];

export interface Row {
  key: string;
  value: string;
}

export interface ActionForm {
  when: ActionWhen;
  does: "event" | "notify";
  event_id: string;
  tool: string;
  action: string;
  /** JSON text. */
  params: string;
}

export interface EventForm {
  name: string;
  description: string;
  /** Comma-separated. */
  tags: string;
  kind: FormKind;
  language: Language;
  script: string;
  global_helpers: boolean;
  http: { method: string; url: string; headers: Row[]; body: string; bodyIsJson: boolean; fail_on_status: boolean };
  tool: { tool: string; action: string; params: string };
  env: Row[];
  /** value: "file" or "env". */
  secrets: Row[];
  cpus: string;
  memory_mb: string;
  pids: string;
  timeout_seconds: string;
  network: "none" | "egress";
  max_attempts: string;
  retry_backoff_seconds: string;
  retry_backoff_max_seconds: string;
  pool: string;
  schedule: ScheduleForm;
  missed_runs: MissedRuns;
  catch_up_seconds: string;
  concurrency: Concurrency;
  max_concurrent: string;
  max_executions: string;
  actions: ActionForm[];
}

// What a new script starts from: each language's helpers, as docs/runtime.md spells them.
export const TEMPLATES: Record<Language, string> = {
  python: `# A Cronium event in Python: the helpers come from the \`cronium\` module.
import cronium

data = cronium.input()  # the run's input: given by hand, a webhook's body, or the run before
info = cronium.event()  # the context: event_name, attempt, trigger...

runs = cronium.get_variable("runs", 0)  # one of your variables (any JSON value)
cronium.set_variable("runs", runs + 1)
print(f"{info['event_name']}: run {runs + 1}, input {data!r}")

cronium.set_condition(True)  # chooses a workflow's on_condition edges and "condition" actions
cronium.output({"runs": runs + 1})  # handed to the actions and the next workflow node
`,
  node: `// A Cronium event in Node: the helpers come from the 'cronium' module; each returns a promise.
const cronium = require('cronium');

async function main() {
  const data = await cronium.input(); // the run's input: given by hand, a webhook's body, or the run before
  const info = await cronium.event(); // the context: event_name, attempt, trigger...

  const runs = await cronium.getVariable('runs', 0); // one of your variables (any JSON value)
  await cronium.setVariable('runs', runs + 1);
  console.log(\`\${info.event_name}: run \${runs + 1}, input \${JSON.stringify(data)}\`);

  await cronium.setCondition(true); // chooses a workflow's on_condition edges and "condition" actions
  await cronium.output({ runs: runs + 1 }); // handed to the actions and the next workflow node
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  bash: `# A Cronium event in Bash: the helpers are already defined (no source line needed).
data=$(cronium_input)                     # the run's input, as JSON
name=$(cronium_event_field event_name)    # one field of the context (cronium_event: all of it)

runs=$(cronium_get_variable runs || echo 0)   # one of your variables; status 1 when not set
cronium_set_variable runs $((runs + 1))
echo "$name: run $((runs + 1)), input $data"

cronium_set_condition true                # chooses a workflow's on_condition edges and "condition" actions
cronium_output "{\\"runs\\": $((runs + 1))}"  # handed to the actions and the next workflow node
`,
};

/** Whether `script` is still what the form put there (empty, or a language's template): then a
 * new language may replace it without losing anything the user wrote. */
export function isTemplate(script: string): boolean {
  return script.trim() === "" || Object.values(TEMPLATES).includes(script);
}

export function blankEvent(language: Language = "python"): EventForm {
  return {
    name: "",
    description: "",
    tags: "",
    kind: "script",
    language,
    script: TEMPLATES[language],
    global_helpers: false,
    http: { method: "GET", url: "", headers: [], body: "", bodyIsJson: false, fail_on_status: true },
    tool: { tool: "", action: "send_message", params: "{}" },
    env: [],
    secrets: [],
    cpus: "0.5",
    memory_mb: "512",
    pids: "100",
    timeout_seconds: "300",
    network: "none",
    max_attempts: "1",
    retry_backoff_seconds: "10",
    retry_backoff_max_seconds: "3600",
    pool: "",
    schedule: blankSchedule(),
    missed_runs: "run_once",
    catch_up_seconds: "3600",
    concurrency: "allow",
    max_concurrent: "",
    max_executions: "",
    actions: [],
  };
}

const text = (value: unknown): string => (value === null || value === undefined ? "" : String(value));
const rows = (map: Record<string, string> | undefined): Row[] =>
  Object.entries(map ?? {}).map(([key, value]) => ({ key, value }));
const pretty = (value: unknown): string => JSON.stringify(value ?? {}, null, 2);

/** The form of a stored event. */
export function eventForm(event: Event): EventForm {
  const http = (event.http ?? {}) as Partial<S["HttpIn"]>;
  const tool = (event.tool_action ?? {}) as Partial<S["ToolCallIn"]>;
  const body = http.body;
  return {
    ...blankEvent(event.language ?? "python"),
    name: event.name,
    description: event.description,
    tags: event.tags.join(", "),
    kind: event.kind === "workflow" ? "script" : event.kind,
    script: event.script,
    global_helpers: event.global_helpers,
    http: {
      method: http.method ?? "GET",
      url: http.url ?? "",
      headers: rows(http.headers),
      body: typeof body === "string" ? body : body === undefined || body === null ? "" : pretty(body),
      bodyIsJson: body !== undefined && body !== null && typeof body !== "string",
      fail_on_status: http.fail_on_status ?? true,
    },
    tool: { tool: tool.tool ?? "", action: tool.action ?? "send_message", params: pretty(tool.params) },
    env: rows(event.env),
    secrets: rows(event.secrets),
    cpus: text(event.cpus),
    memory_mb: text(event.memory_mb),
    pids: text(event.pids),
    timeout_seconds: text(event.timeout_seconds),
    network: event.network,
    max_attempts: text(event.max_attempts),
    retry_backoff_seconds: text(event.retry_backoff_seconds),
    retry_backoff_max_seconds: text(event.retry_backoff_max_seconds),
    pool: text(event.pool),
    schedule: scheduleForm(event.schedule),
    missed_runs: event.missed_runs,
    catch_up_seconds: text(event.catch_up_seconds),
    concurrency: event.concurrency,
    max_concurrent: text(event.max_concurrent),
    max_executions: text(event.max_executions),
    actions: event.actions.map(actionForm),
  };
}

function actionForm(action: Record<string, unknown>): ActionForm {
  const notify = action.notify as Partial<S["ToolCallIn"]> | null | undefined;
  return {
    when: action.when as ActionWhen,
    does: notify ? "notify" : "event",
    event_id: text(action.event_id),
    tool: notify?.tool ?? "",
    action: notify?.action ?? "send_message",
    params: pretty(notify?.params),
  };
}

/** A refusal made here, shaped as the API's, so that it shows under its field the same way. */
function refused(field: string, message: string): ApiError {
  return new ApiError(422, "invalid_input", `${field}: ${message}`);
}

function parseJson(field: string, source: string): unknown {
  try {
    return JSON.parse(source);
  } catch (error) {
    throw refused(field, `is not valid JSON (${error instanceof Error ? error.message : error})`);
  }
}

function paramsOf(field: string, source: string): Record<string, unknown> {
  const value = source.trim() === "" ? {} : parseJson(field, source);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw refused(field, "give a JSON object of the action's fields");
  }
  return value as Record<string, unknown>;
}

/** A number typed in, or the text itself when it is not one (the API then says what is wrong). */
function numberOf(value: string): number | string {
  const number = Number(value);
  return value.trim() !== "" && Number.isFinite(number) ? number : value;
}

/** The rows as a map; two rows of one name are refused under `field` (a map would silently
 * keep the last). */
function mapOf(field: string, list: Row[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const row of list) {
    const key = row.key.trim();
    if (key === "") continue;
    if (Object.hasOwn(map, key)) throw refused(field, `${key} is given twice`);
    map[key] = row.value;
  }
  return map;
}

export function tagsOf(tags: string): string[] {
  return tags
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

function kindFields(form: EventForm): Partial<EventCreate> {
  switch (form.kind) {
    case "script":
      return { language: form.language, script: form.script, global_helpers: form.global_helpers };
    case "http": {
      const { body, bodyIsJson } = form.http;
      return {
        http: {
          method: form.http.method,
          url: form.http.url,
          headers: mapOf("http.headers", form.http.headers),
          fail_on_status: form.http.fail_on_status,
          ...(body.trim() === "" ? {} : { body: bodyIsJson ? parseJson("http.body", body) : body }),
        },
      };
    }
    case "tool":
      return {
        tool_action: {
          tool: form.tool.tool,
          action: form.tool.action,
          params: paramsOf("tool_action.params", form.tool.params),
        },
      };
  }
}

function actionsOf(actions: ActionForm[]): S["ActionIn"][] {
  return actions.map((action, index) =>
    action.does === "event"
      ? { when: action.when, event_id: numberOf(action.event_id) as number }
      : {
          when: action.when,
          notify: {
            tool: action.tool,
            action: action.action,
            params: paramsOf(`actions[${index}].notify.params`, action.params),
          },
        },
  );
}

// Settings an empty input leaves unset (null removes them on an update).
const OPTIONAL = ["pool", "max_concurrent", "max_executions"] as const;

/** The body of POST /events (`creating`) or PATCH /events/ID. Throws an ApiError-shaped refusal
 * for a JSON field that does not parse, before anything is sent. */
export function eventBody(form: EventForm, creating: boolean): EventCreate | EventUpdate {
  const optional = (value: string, asNumber: boolean) =>
    value.trim() === "" ? null : asNumber ? numberOf(value) : value.trim();
  const body: Record<string, unknown> = {
    name: form.name,
    description: form.description,
    tags: tagsOf(form.tags),
    ...kindFields(form),
    env: mapOf("env", form.env),
    secrets: mapOf("secrets", form.secrets),
    cpus: numberOf(form.cpus),
    memory_mb: numberOf(form.memory_mb),
    pids: numberOf(form.pids),
    timeout_seconds: numberOf(form.timeout_seconds),
    network: form.network,
    max_attempts: numberOf(form.max_attempts),
    retry_backoff_seconds: numberOf(form.retry_backoff_seconds),
    retry_backoff_max_seconds: numberOf(form.retry_backoff_max_seconds),
    schedule: scheduleBody(form.schedule),
    missed_runs: form.missed_runs,
    catch_up_seconds: numberOf(form.catch_up_seconds),
    concurrency: form.concurrency,
    actions: actionsOf(form.actions),
    pool: optional(form.pool, false),
    max_concurrent: optional(form.max_concurrent, true),
    max_executions: optional(form.max_executions, true),
  };
  if (creating) {
    body.kind = form.kind;
    // a new event leaves unset what it does not give
    for (const name of [...OPTIONAL, "schedule"]) if (body[name] === null) delete body[name];
  }
  return body as unknown as EventCreate;
}

// The API's sentences about a schedule or a name that start with no field's name.
const SCHEDULE_WORDS = /^(schedule\b|cron |interval schedule|one-off schedule|unknown time zone|the schedule's )/;
const NAME_TAKEN = /^an event named .* already exists/;

/** The message to show under `field` when `error` is about it: the message names the field
 * ("cpus: …", "actions[0].notify: …") or speaks of it ("cron expression '…' is not valid",
 * "an event named 'x' already exists"). */
export function refusalUnder(error: unknown, field: string): string | null {
  const named = errorFor(error, field);
  if (named !== null || !(error instanceof ApiError)) return named;
  const message = error.message;
  const about =
    message.startsWith(`${field}[`) ||
    (field === "schedule" && SCHEDULE_WORDS.test(message)) ||
    (field === "name" && NAME_TAKEN.test(message));
  return about ? message : null;
}

/** The API field a form's input is sent as. */
export function apiField(key: keyof EventForm): string {
  return key === "tool" ? "tool_action" : key;
}

/** Whether changing the form's `key` answers `error`: then the refusal is out of date. */
export function changeAnswers(error: unknown, key: keyof EventForm): boolean {
  return refusalUnder(error, apiField(key)) !== null;
}

/** The bounds the API puts on a number setting (src/cronium/domain/event.py and schedule.py
 * declare them), shown before saving. */
export interface Bounds {
  min: number;
  max?: number;
  /** Whole numbers only. */
  whole?: boolean;
}

export const BOUNDS = {
  cpus: { min: 0.05, max: 2 },
  memory_mb: { min: 16, max: 2048, whole: true },
  pids: { min: 1, max: 1000, whole: true },
  timeout_seconds: { min: 1, max: 86400 },
  max_attempts: { min: 1, max: 100, whole: true },
  retry_backoff_seconds: { min: 0, max: 86400 },
  retry_backoff_max_seconds: { min: 0, max: 7 * 86400 },
  catch_up_seconds: { min: 0, max: 30 * 86400, whole: true },
  max_concurrent: { min: 1, max: 1000, whole: true },
  max_executions: { min: 1, whole: true },
} satisfies Record<string, Bounds>;

/** "0.05 to 2", "1 to 86,400", "1 or more". */
export function rangeText(bounds: Bounds): string {
  const number = (value: number) => value.toLocaleString("en-US");
  return bounds.max === undefined ? `${number(bounds.min)} or more` : `${number(bounds.min)} to ${number(bounds.max)}`;
}


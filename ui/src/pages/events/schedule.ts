// A schedule as the editor holds it, the API's body made from it, what it says in English, and
// the debounce the editor checks it with as the user types. Pure: time is passed in.
import cronstrue from "cronstrue";
import type { components } from "../../lib/schema";

type ScheduleIn = components["schemas"]["ScheduleIn"];
export type ScheduleChoice = "none" | "cron" | "interval" | "once";

export interface ScheduleForm {
  kind: ScheduleChoice;
  cron: string;
  timezone: string;
  every_seconds: string;
  /** datetime-local values: the browser's wall clock, converted to an instant when sent. */
  anchor: string;
  at: string;
  start: string;
  end: string;
}

// Old names the browser's time-zone data (ICU) still gives for zones IANA has renamed: the
// current name is what a user looks for. The API reads both (Python's zoneinfo).
export const ZONE_ALIASES: Readonly<Record<string, string>> = {
  "Africa/Asmera": "Africa/Asmara",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Catamarca": "America/Argentina/Catamarca",
  "America/Coral_Harbour": "America/Atikokan",
  "America/Cordoba": "America/Argentina/Cordoba",
  "America/Godthab": "America/Nuuk",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Jujuy": "America/Argentina/Jujuy",
  "America/Louisville": "America/Kentucky/Louisville",
  "America/Mendoza": "America/Argentina/Mendoza",
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Europe/Kiev": "Europe/Kyiv",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Truk": "Pacific/Chuuk",
};

/** A zone by its current IANA name. */
export function currentZone(zone: string): string {
  return ZONE_ALIASES[zone] ?? zone;
}

export function browserZone(): string {
  return currentZone(Intl.DateTimeFormat().resolvedOptions().timeZone);
}

/** The zone a schedule is read in: a one-off's instant is typed in the browser's own zone. */
export function zoneOf(form: ScheduleForm): string {
  return form.kind === "once" ? browserZone() : form.timezone;
}

export function blankSchedule(): ScheduleForm {
  return { kind: "none", cron: "0 * * * *", timezone: browserZone(), every_seconds: "3600", anchor: "", at: "", start: "", end: "" };
}

/** An instant as a datetime-local input shows it (the browser's zone), or "". */
export function localInput(iso: unknown): string {
  if (typeof iso !== "string" || iso === "") return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** A datetime-local value (the browser's wall clock) as an instant with its offset, or null. */
export function instantOf(local: string): string | null {
  if (local.trim() === "") return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

/** The editor's form of a stored schedule (EventPublic.schedule). */
export function scheduleForm(stored: Record<string, unknown> | null): ScheduleForm {
  const blank = blankSchedule();
  if (!stored) return blank;
  const every = stored.every_seconds;
  return {
    kind: (stored.kind as ScheduleChoice) ?? "none",
    cron: typeof stored.cron === "string" ? stored.cron : blank.cron,
    timezone: typeof stored.timezone === "string" ? stored.timezone : blank.timezone,
    every_seconds: typeof every === "number" ? String(every) : blank.every_seconds,
    anchor: localInput(stored.anchor),
    at: localInput(stored.at),
    start: localInput(stored.start),
    end: localInput(stored.end),
  };
}

/** The API's ScheduleIn, or null for no schedule; an interval without an anchor counts from
 * `now`. */
export function scheduleBody(form: ScheduleForm, now: Date = new Date()): ScheduleIn | null {
  const window = { start: instantOf(form.start), end: instantOf(form.end) };
  switch (form.kind) {
    case "none":
      return null;
    case "cron":
      return { kind: "cron", cron: form.cron, timezone: form.timezone, ...window };
    case "interval": {
      const every = Number(form.every_seconds);
      return {
        kind: "interval",
        timezone: form.timezone,
        every_seconds: form.every_seconds.trim() === "" || Number.isNaN(every) ? null : every,
        anchor: instantOf(form.anchor) ?? now.toISOString(),
        ...window,
      };
    }
    case "once":
      return { kind: "once", timezone: zoneOf(form), at: instantOf(form.at), ...window };
  }
}

/** A cron expression in English ("Every 5 minutes"), or null when cronstrue cannot read it
 * (the API's check says why). Six fields are read with seconds first, as the API does. */
export function describeCron(expression: string): string | null {
  if (expression.trim() === "") return null;
  try {
    return cronstrue.toString(expression, { throwExceptionOnParseError: true, use24HourTimeFormat: true, verbose: false });
  } catch {
    return null;
  }
}

/** One line for a stored schedule, for lists ("Every 5 minutes (Europe/Paris)"). */
export function scheduleSummary(stored: Record<string, unknown> | null): string {
  if (!stored) return "—";
  const form = scheduleForm(stored);
  switch (form.kind) {
    case "cron":
      return `${describeCron(form.cron) ?? form.cron} (${form.timezone})`;
    case "interval":
      return `Every ${everyText(Number(form.every_seconds))}`;
    case "once":
      return `Once, at ${new Date(String(stored.at)).toLocaleString()}`;
    default:
      return "—";
  }
}

function everyText(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export interface Debounced<A extends unknown[]> {
  call: (...args: A) => void;
  cancel: () => void;
}

/** `fn` called `ms` after the last call only (the user stopped typing); `cancel` drops a
 * pending call (the editor went away). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    call: (...args: A) => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fn(...args);
      }, ms);
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

/** The zones to pick from: the browser's list by current names, with UTC and the current
 * choice (as it is spelled) always in it. */
export function timeZones(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", ...known.map(currentZone), current])].sort((a, b) => (a === "UTC" ? -1 : b === "UTC" ? 1 : a.localeCompare(b)));
}

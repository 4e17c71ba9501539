// The schedule part of the event form: its kind, the cron expression and its zone (or the
// interval, or the instant). As the user types, the API checks it and tells the next fires.
import { useEffect, useMemo, useRef, useState } from "react";
import { messageOf, post } from "../../lib/api";
import type { NextFires } from "../../lib/types";
import { when } from "../../lib/format";
import { browserZone, currentZone, debounce, describeCron, scheduleBody, timeZones, zoneOf, type ScheduleChoice, type ScheduleForm } from "./schedule";

const CHOICES: { value: ScheduleChoice; label: string }[] = [
  { value: "none", label: "None (run by hand, webhook or action only)" },
  { value: "cron", label: "Cron expression" },
  { value: "interval", label: "Every so often" },
  { value: "once", label: "Once" },
];

type Preview = { state: "checking" } | { state: "valid"; fires: string[] } | { state: "invalid"; message: string };

/** The API's word on a schedule, asked 300 ms after the last change. */
function usePreview(schedule: ScheduleForm): Preview | null {
  const [preview, setPreview] = useState<Preview | null>(null);
  const asked = useRef(0);
  const check = useMemo(
    () =>
      debounce((form: ScheduleForm) => {
        const ask = ++asked.current;
        post<NextFires>("/schedules/next", { schedule: scheduleBody(form), count: 5 })
          .then((answer) => ask === asked.current && setPreview({ state: "valid", fires: answer.fires }))
          .catch((error: unknown) => ask === asked.current && setPreview({ state: "invalid", message: messageOf(error) }));
      }, 300),
    [],
  );
  useEffect(() => () => check.cancel(), [check]);
  useEffect(() => {
    if (schedule.kind === "none") {
      check.cancel();
      asked.current += 1; // an answer still on its way is for a schedule no longer there
      setPreview(null);
      return;
    }
    setPreview({ state: "checking" });
    check.call(schedule);
  }, [schedule, check]);
  return preview;
}

export default function ScheduleEditor({ value, onChange }: { value: ScheduleForm; onChange: (value: ScheduleForm) => void }) {
  const preview = usePreview(value);
  const zones = useMemo(() => timeZones(value.timezone), [value.timezone]);
  const set = <K extends keyof ScheduleForm>(key: K, to: ScheduleForm[K]) => onChange({ ...value, [key]: to });
  const described = value.kind === "cron" ? describeCron(value.cron) : null;

  return (
    <div className="events-schedule">
      <div className="form-grid">
        <div className="field">
          <label htmlFor="schedule-kind">Schedule</label>
          <select id="schedule-kind" value={value.kind} onChange={(e) => set("kind", e.target.value as ScheduleChoice)}>
            {CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        {value.kind === "cron" ? (
          <div className="field">
            <label htmlFor="schedule-cron">Cron expression</label>
            <input
              id="schedule-cron"
              className="mono"
              value={value.cron}
              onChange={(e) => set("cron", e.target.value)}
              aria-describedby="schedule-check"
              spellCheck={false}
              autoComplete="off"
            />
            <div className="hint">5 fields (minute hour day month weekday), or 6 with seconds first.</div>
          </div>
        ) : null}
        {value.kind === "interval" ? (
          <>
            <div className="field">
              <label htmlFor="schedule-every">Every (seconds)</label>
              <input id="schedule-every" type="number" min={1} step="any" value={value.every_seconds} onChange={(e) => set("every_seconds", e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="schedule-anchor">Counting from (empty: now)</label>
              <input id="schedule-anchor" type="datetime-local" value={value.anchor} onChange={(e) => set("anchor", e.target.value)} />
            </div>
          </>
        ) : null}
        {value.kind === "once" ? (
          <div className="field">
            <label htmlFor="schedule-at">At (your time, {browserZone()})</label>
            <input id="schedule-at" type="datetime-local" value={value.at} onChange={(e) => set("at", e.target.value)} />
          </div>
        ) : null}
        {/* an instant needs no zone: a one-off is read in the browser's */}
        {value.kind === "cron" || value.kind === "interval" ? (
          <div className="field">
            <label htmlFor="schedule-zone">Time zone</label>
            <select id="schedule-zone" value={value.timezone} onChange={(e) => set("timezone", e.target.value)}>
              {zones.map((zone) => (
                <option key={zone}>{zone}</option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      {value.kind !== "none" ? (
        <details className="events-window">
          <summary>Only between two dates</summary>
          <div className="form-grid">
            <div className="field">
              <label htmlFor="schedule-start">Not before (your time)</label>
              <input id="schedule-start" type="datetime-local" value={value.start} onChange={(e) => set("start", e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="schedule-end">Not after (your time)</label>
              <input id="schedule-end" type="datetime-local" value={value.end} onChange={(e) => set("end", e.target.value)} />
            </div>
          </div>
        </details>
      ) : null}
      <div id="schedule-check" aria-live="polite">
        {described ? <p className="events-described">{described} ({value.timezone} time)</p> : null}
        {preview?.state === "checking" ? <p className="muted">Checking…</p> : null}
        {preview?.state === "invalid" ? (
          <p className="field-error" role="alert" data-field="schedule">
            {preview.message}
          </p>
        ) : null}
        {preview?.state === "valid" ? (
          <>
            <p className="events-valid">Valid.</p>
            <FireTable fires={preview.fires} zone={zoneOf(value)} />
          </>
        ) : null}
      </div>
    </div>
  );
}

/** Fire times in the event's zone and, when it differs, in the browser's, side by side. */
export function FireTable({ fires, zone }: { fires: string[]; zone: string }) {
  const mine = browserZone();
  const both = currentZone(zone) !== mine;
  if (fires.length === 0) return <p className="muted">It will not fire again.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Next fires">
        <thead>
          <tr>
            <th scope="col">Next fires ({zone})</th>
            {both ? <th scope="col">Your time ({mine})</th> : null}
          </tr>
        </thead>
        <tbody>
          {fires.map((fire) => (
            <tr key={fire}>
              <td>{when(fire, zone)}</td>
              {both ? <td>{when(fire, mine)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

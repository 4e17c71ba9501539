// What happens when a run ends: run another event with its output, or send a message.
import { useGet } from "../../lib/hooks";
import type { Event } from "../../lib/types";
import type { ActionForm, ActionWhen } from "./model";

const WHENS: { value: ActionWhen; label: string }[] = [
  { value: "success", label: "On success" },
  { value: "failure", label: "On failure" },
  { value: "always", label: "Always" },
  { value: "condition", label: "When the script set its condition true" },
];

const blank: ActionForm = { when: "success", does: "event", event_id: "", tool: "", action: "send_message", params: "{}" };

export default function ActionsEditor({ actions, onChange, self }: { actions: ActionForm[]; onChange: (actions: ActionForm[]) => void; self?: number }) {
  const events = useGet<Event[]>("/events");
  const targets = (events.data ?? []).filter((event) => event.id !== self);
  const update = (index: number, change: Partial<ActionForm>) =>
    onChange(actions.map((action, i) => (i === index ? { ...action, ...change } : action)));

  return (
    <fieldset className="events-rows">
      <legend>Conditional actions</legend>
      <div className="hint">Run another event with this run&apos;s output as its input, or send a message through one of your tools.</div>
      {actions.map((action, index) => {
        const label = `Action ${index + 1}`;
        return (
          <div className="events-action" key={index} role="group" aria-label={label}>
            <select aria-label={`${label}: when`} value={action.when} onChange={(e) => update(index, { when: e.target.value as ActionWhen })}>
              {WHENS.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
            <select aria-label={`${label}: does`} value={action.does} onChange={(e) => update(index, { does: e.target.value as ActionForm["does"] })}>
              <option value="event">run an event</option>
              <option value="notify">send a message</option>
            </select>
            {action.does === "event" ? (
              <select aria-label={`${label}: event`} value={action.event_id} onChange={(e) => update(index, { event_id: e.target.value })}>
                <option value="">(pick an event)</option>
                {targets.map((event) => (
                  <option key={event.id} value={String(event.id)}>
                    {event.name}
                  </option>
                ))}
              </select>
            ) : (
              <>
                <input aria-label={`${label}: tool`} placeholder="tool (or slack, email…)" value={action.tool} onChange={(e) => update(index, { tool: e.target.value })} />
                <input aria-label={`${label}: tool action`} placeholder="send_message" value={action.action} onChange={(e) => update(index, { action: e.target.value })} />
                <textarea
                  aria-label={`${label}: params (JSON)`}
                  rows={3}
                  value={action.params}
                  onChange={(e) => update(index, { params: e.target.value })}
                />
              </>
            )}
            <button type="button" onClick={() => onChange(actions.filter((_, i) => i !== index))} aria-label={`Remove ${label}`}>
              Remove
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => onChange([...actions, blank])}>
        Add action
      </button>
    </fieldset>
  );
}

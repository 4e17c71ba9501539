// The audit log (administrators): who did what, when, from where; filtered and paged back.
import { useEffect, useState } from "react";
import { useGet } from "../../lib/hooks";
import type { Audit as Entry } from "../../lib/types";
import type { components } from "../../lib/schema";
import { ErrorBanner, Loading } from "../../components/common";
import { when } from "../../lib/format";

const PAGE = 100;
const TYPING_MS = 400; // the user filter asks once the typing stops

type Action = components["schemas"]["AuditAction"];
// every action the server records (the type makes the list complete), by what it is about
const ACTIONS: Record<Action, string> = {
  "auth.login": "logged in",
  "auth.login_failed": "failed to log in",
  "auth.logout": "logged out",
  "token.create": "made an API token",
  "token.revoke": "revoked an API token",
  "token.admin_use": "used the admin scope",
  "secret.read": "a script read a secret",
  "secret.write": "wrote a secret",
  "secret.delete": "deleted a secret",
  "secret.reveal": "revealed a secret",
  "secret.rotate_key": "rotated the secret key",
  "share.add": "shared an event",
  "share.remove": "stopped sharing an event",
  "user.create": "made a user",
  "user.set_role": "changed a role",
  "user.set_password": "set a password",
  "user.disable": "disabled a user",
  "user.enable": "enabled a user",
  "user.delete": "deleted a user",
  "tool.create": "added a tool",
  "tool.change": "replaced a tool's credentials",
  "tool.delete": "deleted a tool",
  "event.create": "made an event or workflow",
  "event.change": "changed an event or workflow",
  "event.restore": "restored an event's version",
  "event.delete": "deleted an event or workflow",
  "webhook.create": "made or rotated a webhook",
  "webhook.delete": "removed a webhook",
};

export default function Audit() {
  const [typed, setTyped] = useState("");
  const [user, setUser] = useState("");
  const [action, setAction] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => {
      setUser(typed.trim());
      setBefore([]);
    }, TYPING_MS);
    return () => clearTimeout(timer);
  }, [typed]);
  const [before, setBefore] = useState<number[]>([]);
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (user) query.set("user", user);
  if (action) query.set("action", action);
  if (before.length) query.set("before", String(before[before.length - 1]));
  const list = useGet<Entry[]>(`/audit?${query}`);
  // what an asking that failed would show is not the old filter's rows
  const entries = list.error ? [] : (list.data ?? []);

  return (
    <>
      <h1>Audit log</h1>
      <div className="row card" role="search">
        <label htmlFor="audit-user">User</label>
        <input id="audit-user" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <label htmlFor="audit-action">Action</label>
        <select
          id="audit-action"
          value={action}
          onChange={(e) => {
            setAction(e.target.value);
            setBefore([]);
          }}
        >
          <option value="">any</option>
          {Object.entries(ACTIONS).map(([name, label]) => (
            <option key={name} value={name}>
              {name} ({label})
            </option>
          ))}
        </select>
      </div>
      <ErrorBanner error={list.error} all />
      {list.data === undefined && !list.error ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>From</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.at)}</td>
                  <td>{entry.actor ?? "(on the database)"}</td>
                  <td className="mono">{entry.action}</td>
                  <td>{entry.target ?? "—"}</td>
                  <td className="mono">{entry.address ?? "—"}</td>
                  <td className="mono">{Object.keys(entry.detail ?? {}).length ? JSON.stringify(entry.detail) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row" style={{ marginTop: "0.8rem" }}>
        <button type="button" disabled={!before.length} onClick={() => setBefore((b) => b.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={entries.length < PAGE}
          onClick={() => setBefore((b) => [...b, entries[entries.length - 1].id])}
        >
          Older
        </button>
      </div>
    </>
  );
}

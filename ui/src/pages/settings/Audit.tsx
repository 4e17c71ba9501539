// The audit log (administrators): who did what, when, from where; filtered and paged back.
import { useState } from "react";
import { useGet } from "../../lib/hooks";
import type { Audit as Entry } from "../../lib/types";
import { ErrorBanner, Loading } from "../../components/common";
import { when } from "../../lib/format";

const PAGE = 100;

export default function Audit() {
  const [user, setUser] = useState("");
  const [action, setAction] = useState("");
  const [before, setBefore] = useState<number[]>([]);
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (user) query.set("user", user);
  if (action) query.set("action", action);
  if (before.length) query.set("before", String(before[before.length - 1]));
  const list = useGet<Entry[]>(`/audit?${query}`);
  const entries = list.data ?? [];

  return (
    <>
      <h1>Audit log</h1>
      <div className="row card" role="search">
        <label htmlFor="audit-user">User</label>
        <input id="audit-user" value={user} onChange={(e) => { setUser(e.target.value); setBefore([]); }} />
        <label htmlFor="audit-action">Action</label>
        <input id="audit-action" placeholder="e.g. secret.reveal" value={action} onChange={(e) => { setAction(e.target.value); setBefore([]); }} />
      </div>
      <ErrorBanner error={list.error} all />
      {list.data === undefined ? (
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

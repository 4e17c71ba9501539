// Who else may see the event (viewer) or also run it (operator).
import { useState, type FormEvent } from "react";
import { del, put } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Event, Share } from "../../lib/types";
import { when } from "../../lib/format";
import { ErrorBanner, FieldError, Loading } from "../../components/common";

export default function Sharing({ event }: { event: Event }) {
  const shares = useGet<Share[]>(`/events/${event.id}/shares`);
  const [user, setUser] = useState("");
  const [role, setRole] = useState<Share["role"]>("viewer");
  const share = useAction();
  const remove = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    await share.run(async () => {
      await put(`/events/${event.id}/shares`, { user, role });
      setUser("");
      shares.reload();
    });
  }

  async function unshare(name: string) {
    if (!window.confirm(`Stop sharing the event with ${name}?`)) return;
    await remove.run(async () => {
      await del(`/events/${event.id}/shares/${encodeURIComponent(name)}`);
      shares.reload();
    });
  }

  return (
    <section className="card" aria-label="Sharing">
      <h2>Sharing</h2>
      <p className="muted">A viewer reads the event, its versions, executions and logs; an operator may also run it. Only you change it.</p>
      <form className="row events-share" onSubmit={submit} aria-label="Share the event">
        <div className="field">
          <label htmlFor="share-user">User name</label>
          <input id="share-user" value={user} onChange={(e) => setUser(e.target.value)} required autoComplete="off" />
          <FieldError error={share.error} field="user" />
        </div>
        <div className="field">
          <label htmlFor="share-role">As</label>
          <select id="share-role" value={role} onChange={(e) => setRole(e.target.value as Share["role"])}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
          </select>
          <FieldError error={share.error} field="role" />
        </div>
        <button type="submit" className="primary">
          Share
        </button>
      </form>
      <ErrorBanner error={share.error} fields={["user", "role"]} />
      <ErrorBanner error={remove.error ?? shares.error} all />
      {shares.data === undefined ? (
        <Loading />
      ) : shares.data.length === 0 ? (
        <p>Not shared with anyone.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">As</th>
                <th scope="col">Since</th>
                <th scope="col"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {shares.data.map((s) => (
                <tr key={s.user}>
                  <td>{s.user}</td>
                  <td>{s.role}</td>
                  <td>{when(s.created_at)}</td>
                  <td>
                    <button type="button" className="danger" onClick={() => void unshare(s.user)}>
                      Remove {s.user}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

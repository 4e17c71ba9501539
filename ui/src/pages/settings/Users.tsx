// Users (administrators): create with a role and a password, change the role, disable, delete.
import { useState, type FormEvent } from "react";
import { del, patch, post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { User } from "../../lib/types";
import { ErrorBanner, FieldError, Loading, StatusBadge } from "../../components/common";
import { useSession } from "../../lib/session";
import { when } from "../../lib/format";

const ROLES = ["admin", "user", "viewer"] as const;
type Role = (typeof ROLES)[number];

export default function Users() {
  const session = useSession();
  const list = useGet<User[]>("/users");
  const { error, run } = useAction();
  const [done, setDone] = useState("");

  async function change(user: User, body: { role?: Role; disabled?: boolean }, said: string) {
    setDone("");
    const changed = await run(async () => {
      await patch(`/users/${encodeURIComponent(user.name)}`, body);
      list.reload();
    });
    if (changed) setDone(said);
  }

  async function disable(user: User) {
    if (user.disabled) return change(user, { disabled: false }, `${user.name} can log in again.`);
    const asked = `Disable ${user.name}? Their sessions end and their API tokens stop working at once.`;
    if (window.confirm(asked)) await change(user, { disabled: true }, `${user.name} is disabled.`);
  }

  async function remove(user: User) {
    if (!window.confirm(`Delete the user ${user.name}, with their events and variables?`)) return;
    await run(async () => {
      await del(`/users/${encodeURIComponent(user.name)}`);
      list.reload();
    });
  }

  return (
    <>
      <h1>Users</h1>
      <p className="muted">
        Administrators see and manage everything; users their own and what is shared with them;
        viewers read only.
      </p>
      <UserForm onMade={list.reload} />
      <ErrorBanner error={error ?? list.error} all />
      {done ? (
        <div className="banner ok" role="status">
          {done}
        </div>
      ) : null}
      {list.data === undefined ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>State</th>
                <th>Password</th>
                <th>Since</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.map((user) => (
                <tr key={user.id}>
                  <td>{user.name}</td>
                  <td>
                    <select
                      aria-label={`Role of ${user.name}`}
                      value={user.role}
                      disabled={user.name === session.user.name}
                      onChange={(e) => {
                        const role = e.target.value as Role;
                        void change(user, { role }, `${user.name} is now ${role === "admin" ? "an" : "a"} ${role}.`);
                      }}
                    >
                      {ROLES.map((role) => (
                        <option key={role}>{role}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <StatusBadge status={user.disabled ? "disabled" : "active"} />
                  </td>
                  <td>{user.has_password ? "set" : "none (tokens only)"}</td>
                  <td>{when(user.created_at)}</td>
                  <td className="row">
                    {user.name === session.user.name ? null : (
                      <>
                        <button type="button" onClick={() => void disable(user)}>
                          {user.disabled ? "Enable" : "Disable"}
                        </button>
                        <button type="button" className="danger" onClick={() => void remove(user)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function UserForm({ onMade }: { onMade: () => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("user");
  const [password, setPassword] = useState("");
  const { error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      await post("/users", { name, role, password: password || null });
      setName("");
      setPassword("");
      onMade();
    });
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Create a user">
      <div className="form-grid">
        <div className="field">
          <label htmlFor="user-name">Name</label>
          <input id="user-name" value={name} onChange={(e) => setName(e.target.value)} required />
          <FieldError error={error} field="name" />
        </div>
        <div className="field">
          <label htmlFor="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="user-password">Password (empty: API tokens only)</label>
          <input id="user-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          <FieldError error={error} field="password" />
        </div>
      </div>
      <ErrorBanner error={error} fields={["name", "password"]} />
      <button className="primary" type="submit">
        Create user
      </button>
    </form>
  );
}

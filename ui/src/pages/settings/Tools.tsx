// The caller's tools: the services scripts and actions send messages through (Slack, Discord,
// Teams, email, webhooks). Credentials go in once, encrypted, and never come back: the page
// shows what is not secret of them (the summary), replaces them, sends a test message, and
// lists what was delivered.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { del, post, put } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import type { Delivery, Tool } from "../../lib/types";
import { ErrorBanner, FieldError, Loading, StatusBadge } from "../../components/common";
import { when } from "../../lib/format";

type Kind = "slack" | "discord" | "teams" | "email" | "webhook";

interface Input {
  key: string;
  label: string;
  secret?: boolean;
  optional?: boolean;
  type?: "text" | "number" | "select" | "headers";
  options?: string[];
  hint?: string;
}

const WEBHOOK_URL: Input = { key: "webhook_url", label: "Webhook URL", secret: true, hint: "the incoming webhook's URL, as the service gives it (it holds the channel's token)" };
const INPUTS: Record<Kind, Input[]> = {
  slack: [WEBHOOK_URL],
  discord: [WEBHOOK_URL],
  teams: [WEBHOOK_URL],
  email: [
    { key: "host", label: "SMTP host" },
    { key: "port", label: "Port", type: "number", optional: true, hint: "default: 587 with STARTTLS, 465 with TLS, 25 with none" },
    { key: "tls", label: "TLS", type: "select", options: ["starttls", "tls", "none"] },
    { key: "sender", label: "Sender (From)" },
    { key: "username", label: "User name", optional: true },
    { key: "password", label: "Password", secret: true, optional: true },
  ],
  webhook: [
    { key: "url", label: "URL" },
    { key: "method", label: "Method", type: "select", options: ["POST", "PUT", "PATCH", "GET", "DELETE"] },
    { key: "headers", label: "Headers", type: "headers", optional: true, hint: "one per line, Name: value (sent with every request; kept secret)" },
  ],
};

/** The credentials of `kind` from the form's text values: empty optional ones left out. */
export function credentialsOf(kind: Kind, values: Record<string, string>): Record<string, unknown> {
  const credentials: Record<string, unknown> = {};
  for (const input of INPUTS[kind]) {
    const value = (values[input.key] ?? "").trim();
    if (value === "" && input.optional) continue;
    if (input.type === "number") credentials[input.key] = Number(value);
    else if (input.type === "headers") {
      const headers: Record<string, string> = {};
      for (const line of value.split("\n")) {
        const at = line.indexOf(":");
        if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      credentials[input.key] = headers;
    } else credentials[input.key] = value === "" && input.options ? input.options[0] : value;
  }
  return credentials;
}

export default function Tools() {
  const { canWrite } = useSession();
  const tools = useGet<Tool[]>("/tools");
  const deliveries = useGet<Delivery[]>("/deliveries?limit=50", 10_000);
  const [replacing, setReplacing] = useState<Tool | null>(null);
  const [tested, setTested] = useState<Delivery | null>(null);
  const { error, run } = useAction();

  const test = (tool: Tool) =>
    run(async () => {
      const to = tool.kind === "email" ? window.prompt("Send the test email to (empty: the sender):") : null;
      setTested(await post<Delivery>(`/tools/${encodeURIComponent(tool.name)}/test`, to ? { to } : {}));
      deliveries.reload();
    });
  const remove = async (tool: Tool) => {
    if (!window.confirm(`Delete the tool ${tool.name}? Events that use it will fail to send.`)) return;
    await run(async () => {
      await del(`/tools/${encodeURIComponent(tool.name)}`);
      tools.reload();
    });
  };

  return (
    <>
      <h1>Tools</h1>
      <p className="muted">
        The services your scripts and conditional actions send messages through. Credentials are stored
        encrypted and never shown again; only what is not secret of them is listed.
      </p>
      <ErrorBanner error={error ?? tools.error} all />
      {tested ? (
        <div className={`banner ${tested.status === "sent" ? "ok" : "error"}`} role="status" data-testid="test-result">
          Test message through {tested.tool}: {tested.status}
          {tested.code !== null ? ` (${tested.code})` : ""}
          {tested.error ? `: ${tested.error}` : ""}
        </div>
      ) : null}
      {canWrite ? <ToolForm onSaved={tools.reload} /> : null}
      {replacing ? (
        <CredentialsForm
          tool={replacing}
          onDone={() => {
            setReplacing(null);
            tools.reload();
          }}
        />
      ) : null}
      {tools.data === undefined ? (
        <Loading />
      ) : tools.data.length === 0 ? (
        <p>No tools yet.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Tools">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>What is not secret</th>
                <th>Updated</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {tools.data.map((tool) => (
                <tr key={tool.name}>
                  <td>
                    <strong>{tool.name}</strong>
                    {tool.description ? <div className="muted small">{tool.description}</div> : null}
                  </td>
                  <td>{tool.kind}</td>
                  <td className="mono small">
                    {Object.entries(tool.summary)
                      .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
                      .join(", ")}
                  </td>
                  <td>{when(tool.updated_at)}</td>
                  <td className="row">
                    {canWrite ? (
                      <>
                        <button type="button" onClick={() => void test(tool)}>
                          Test
                        </button>
                        <button type="button" onClick={() => setReplacing(tool)}>
                          Replace credentials
                        </button>
                        <button type="button" className="danger" onClick={() => void remove(tool)}>
                          Delete
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Deliveries</h2>
      <Deliveries list={deliveries.data} />
    </>
  );
}

function CredentialInputs({ kind, values, onChange, prefix }: { kind: Kind; values: Record<string, string>; onChange: (key: string, value: string) => void; prefix: string }) {
  return (
    <div className="form-grid">
      {INPUTS[kind].map((input) => {
        const id = `${prefix}-${input.key}`;
        const value = values[input.key] ?? "";
        return (
          <div className="field" key={input.key}>
            <label htmlFor={id}>
              {input.label}
              {input.optional ? <span className="muted"> (optional)</span> : null}
            </label>
            {input.type === "select" ? (
              <select id={id} value={value || input.options?.[0]} onChange={(e) => onChange(input.key, e.target.value)}>
                {input.options?.map((option) => <option key={option}>{option}</option>)}
              </select>
            ) : input.type === "headers" ? (
              <textarea id={id} rows={3} value={value} onChange={(e) => onChange(input.key, e.target.value)} autoComplete="off" />
            ) : (
              <input
                id={id}
                type={input.secret ? "password" : input.type === "number" ? "number" : "text"}
                autoComplete={input.secret ? "new-password" : "off"}
                required={!input.optional}
                value={value}
                onChange={(e) => onChange(input.key, e.target.value)}
              />
            )}
            {input.hint ? <div className="hint">{input.hint}</div> : null}
          </div>
        );
      })}
    </div>
  );
}

function ToolForm({ onSaved }: { onSaved: () => void }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("slack");
  const [description, setDescription] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const { error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const saved = await run(async () => {
      await post("/tools", { name, kind, description, credentials: credentialsOf(kind, values) });
    });
    if (saved) {
      setName("");
      setDescription("");
      setValues({});
      onSaved();
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Add a tool">
      <h2>Add a tool</h2>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="tool-name">Name</label>
          <input id="tool-name" value={name} onChange={(e) => setName(e.target.value)} required />
          <FieldError error={error} field="name" />
        </div>
        <div className="field">
          <label htmlFor="tool-kind">Kind</label>
          <select
            id="tool-kind"
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as Kind);
              setValues({});
            }}
          >
            {Object.keys(INPUTS).map((k) => <option key={k}>{k}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="tool-description">Description</label>
          <input id="tool-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <FieldError error={error} field="description" />
        </div>
      </div>
      <CredentialInputs kind={kind} values={values} prefix="tool" onChange={(key, value) => setValues((v) => ({ ...v, [key]: value }))} />
      <FieldError error={error} field="credentials" />
      <ErrorBanner error={error} fields={["name", "description", "credentials"]} />
      <button className="primary" type="submit">
        Add the tool
      </button>
    </form>
  );
}

function CredentialsForm({ tool, onDone }: { tool: Tool; onDone: () => void }) {
  const kind = tool.kind as Kind;
  const [values, setValues] = useState<Record<string, string>>({});
  const { error, run } = useAction();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const replaced = await run(async () => {
      await put(`/tools/${encodeURIComponent(tool.name)}`, { credentials: credentialsOf(kind, values) });
    });
    if (replaced) onDone();
  }
  return (
    <form className="card" onSubmit={submit} aria-label={`New credentials for ${tool.name}`}>
      <h2>New credentials for {tool.name}</h2>
      <CredentialInputs kind={kind} values={values} prefix="replace" onChange={(key, value) => setValues((v) => ({ ...v, [key]: value }))} />
      <FieldError error={error} field="credentials" />
      <ErrorBanner error={error} fields={["credentials"]} />
      <div className="row">
        <button className="primary" type="submit">
          Replace
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Deliveries({ list }: { list: Delivery[] | undefined }) {
  if (list === undefined) return <Loading />;
  if (list.length === 0) return <p className="muted">Nothing was sent yet.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Deliveries">
        <thead>
          <tr>
            <th>When</th>
            <th>Tool</th>
            <th>From</th>
            <th>To</th>
            <th>Status</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {list.map((delivery) => (
            <tr key={delivery.id}>
              <td>{when(delivery.created_at)}</td>
              <td>
                {delivery.tool} <span className="muted">{delivery.action}</span>
              </td>
              <td>{delivery.execution_id !== null ? <Link to={`/executions/${delivery.execution_id}`}>#{delivery.execution_id}</Link> : delivery.source}</td>
              <td className="mono small">{delivery.target}</td>
              <td>
                <StatusBadge status={delivery.status} /> <span className="muted">{delivery.attempts}×</span>
              </td>
              <td className="small">{delivery.error ?? (delivery.code !== null ? `${delivery.code} ${delivery.reply ?? ""}` : "—")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

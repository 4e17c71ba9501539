// Import a workflow and its events from a YAML document (pasted or read from a file): the API
// creates, changes or leaves alone each of them and says which.
import { useState, type ChangeEvent, type FormEvent } from "react";
import { Link } from "react-router";
import { post } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { ErrorBanner } from "../../components/common";
import type { ImportReport, WorkflowImported } from "./graph";

export default function WorkflowImport() {
  const [text, setText] = useState("");
  const [imported, setImported] = useState<WorkflowImported | null>(null);
  const { error, run } = useAction();

  async function upload(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (file) setText(await file.text());
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setImported(null);
    await run(async () => {
      setImported(await post<WorkflowImported>("/workflows/import", undefined, { text, contentType: "application/yaml" }));
    });
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Import a workflow">
      <div className="field">
        <label htmlFor="wf-import-text">YAML document</label>
        <textarea id="wf-import-text" rows={10} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} required />
      </div>
      <div className="field">
        <label htmlFor="wf-import-file">Or read a file</label>
        <input id="wf-import-file" type="file" accept=".yaml,.yml,application/yaml,text/yaml" onChange={(e) => void upload(e)} />
      </div>
      <ErrorBanner error={error} all />
      {imported ? <Report report={imported.report} id={imported.id} name={imported.name} /> : null}
      <button type="submit" className="primary">
        Import
      </button>
    </form>
  );
}

function Report({ report, id, name }: { report: ImportReport; id: number; name: string }) {
  return (
    <div className="banner ok" role="status">
      <p>
        Imported <Link to={`/workflows/${id}`}>{name}</Link>.
      </p>
      <div className="table-wrap">
        <table aria-label="What the import did">
          <thead>
            <tr>
              <th>Outcome</th>
              <th>Kind</th>
              <th>Name</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {[...report.events, report.workflow].map((item) => (
              <tr key={`${item.kind}-${item.name}`}>
                <td>{item.outcome}</td>
                <td>{item.kind}</td>
                <td>{item.name}</td>
                <td>{item.old_version !== null && item.old_version !== item.version ? `${item.old_version} → ${item.version}` : item.version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

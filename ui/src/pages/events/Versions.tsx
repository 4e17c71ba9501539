// Every version of an event: compare any two line by line, bring one back.
import { useState } from "react";
import { post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Event, EventVersion } from "../../lib/types";
import { when } from "../../lib/format";
import { ErrorBanner, Loading } from "../../components/common";
import { diffVersions } from "./versions";

export default function Versions({ event, owns, onRestored }: { event: Event; owns: boolean; onRestored: () => void }) {
  const list = useGet<EventVersion[]>(`/events/${event.id}/versions`);
  const { error, run } = useAction();
  const versions = list.data;

  async function restore(version: number) {
    const replaced = "its script and all its settings (schedule, limits, environment, secrets, retries, actions…) replace the current ones";
    if (!window.confirm(`Bring back version ${version}? ${replaced}, as a new version.`)) return;
    await run(async () => {
      await post(`/events/${event.id}/versions/${version}/restore`);
      list.reload();
      onRestored();
    });
  }

  if (versions === undefined) return list.error ? <ErrorBanner error={list.error} all /> : <Loading />;
  return (
    <>
      <ErrorBanner error={error} all />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Made</th>
              <th scope="col">Note</th>
              {owns ? <th scope="col"><span className="sr-only">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}>
                <td>{version.version}</td>
                <td>{when(version.created_at)}</td>
                <td>
                  {version.version === event.version ? "current" : ""}
                  {version.restored_from ? ` restored from ${version.restored_from}` : ""}
                </td>
                {owns ? (
                  <td>
                    {version.version === event.version ? null : (
                      <button type="button" onClick={() => void restore(version.version)}>
                        Restore version {version.version}
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {versions.length > 1 ? <Compare key={versions[0].version} versions={versions} /> : <p className="muted">One version only: nothing to compare yet.</p>}
    </>
  );
}

function Compare({ versions }: { versions: EventVersion[] }) {
  // newest first: compare the one before the newest with the newest
  const [from, setFrom] = useState(versions[1].version);
  const [to, setTo] = useState(versions[0].version);
  const older = versions.find((v) => v.version === from);
  const newer = versions.find((v) => v.version === to);
  const lines = older && newer ? diffVersions(older, newer) : [];
  const changed = lines.filter((line) => line.sign !== " ").length;

  return (
    <section className="card" aria-label="Compare versions">
      <h2>Compare</h2>
      <div className="row">
        <VersionPick id="compare-from" label="From version" value={from} onChange={setFrom} versions={versions} />
        <VersionPick id="compare-to" label="To version" value={to} onChange={setTo} versions={versions} />
      </div>
      <p className="muted">{changed === 0 ? "No difference." : `${changed} lines differ: − removed, + added.`}</p>
      <pre className="events-diff" aria-label={`Changes from version ${from} to version ${to}`}>
        {lines.map((line, index) => (
          <span key={index} className={line.sign === "+" ? "events-add" : line.sign === "-" ? "events-del" : undefined}>
            {`${line.sign} ${line.text}\n`}
          </span>
        ))}
      </pre>
    </section>
  );
}

function VersionPick(props: { id: string; label: string; value: number; onChange: (v: number) => void; versions: EventVersion[] }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(Number(e.target.value))}>
        {props.versions.map((v) => (
          <option key={v.version} value={v.version}>
            {v.version}
          </option>
        ))}
      </select>
    </div>
  );
}

// A new workflow: built here from events, or imported from a YAML document (as exported).
import { useNavigate } from "react-router";
import { post } from "../../lib/api";
import { useSession } from "../../lib/session";
import type { Event } from "../../lib/types";
import WorkflowBuilder from "./WorkflowBuilder";
import WorkflowImport from "./WorkflowImport";

export default function WorkflowNew() {
  const { canWrite } = useSession();
  const navigate = useNavigate();
  if (!canWrite) {
    return (
      <>
        <h1>New workflow</h1>
        <p>A viewer cannot create workflows.</p>
      </>
    );
  }
  return (
    <>
      <h1>New workflow</h1>
      <WorkflowBuilder
        saveLabel="Create workflow"
        onSave={async (draft) => {
          const created = await post<Event>("/workflows", draft);
          navigate(`/workflows/${created.id}`);
        }}
      />
      <h2>Or import a YAML document</h2>
      <WorkflowImport />
    </>
  );
}

export default function WorkflowRunPage() {
  return <h1>WorkflowRunPage</h1>;
}

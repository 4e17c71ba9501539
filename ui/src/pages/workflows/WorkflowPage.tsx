export default function WorkflowPage() {
  return <h1>WorkflowPage</h1>;
}

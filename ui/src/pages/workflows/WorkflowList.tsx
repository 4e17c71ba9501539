export default function WorkflowList() {
  return <h1>WorkflowList</h1>;
}

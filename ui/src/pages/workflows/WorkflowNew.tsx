export default function WorkflowNew() {
  return <h1>WorkflowNew</h1>;
}

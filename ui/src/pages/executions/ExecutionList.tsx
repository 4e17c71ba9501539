export default function ExecutionList() {
  return <h1>ExecutionList</h1>;
}

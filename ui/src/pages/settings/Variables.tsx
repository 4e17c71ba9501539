export default function Variables() {
  return <h1>Variables</h1>;
}

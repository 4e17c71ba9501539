export default function Tools() {
  return <h1>Tools</h1>;
}
